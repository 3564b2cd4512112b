// data/label_manifest.cpp — LabelManifest (see label_manifest.h).
#include "data/label_manifest.h"

#include <algorithm>
#include <fstream>

#include "common/error.h"

namespace krait::data {

void LabelManifest::add(const std::string& key, const std::string& cls, const std::string& where) {
  KRAIT_CHECK(!key.empty() && !cls.empty(), where, ": expected `key<TAB>class` with both non-empty");
  KRAIT_CHECK(!labels_.contains(key), where, ": key '", key, "' is listed twice");
  auto it = std::find(classes_.begin(), classes_.end(), cls);
  if (it == classes_.end()) {
    classes_.push_back(cls);
    it = classes_.end() - 1;
  }
  labels_[key] = static_cast<int32_t>(it - classes_.begin());
}

LabelManifest LabelManifest::read(const std::string& path) {
  std::ifstream in(path);
  KRAIT_CHECK(in, "label manifest '", path, "': cannot open");
  LabelManifest m;
  m.source_ = path;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(number);
    KRAIT_CHECK(std::count(line.begin(), line.end(), '\t') == 1, where,
                ": expected `key<TAB>class` (one tab), found '", line, "'");
    const size_t tab = line.find('\t');
    m.add(line.substr(0, tab), line.substr(tab + 1), where);
  }
  KRAIT_CHECK(!m.labels_.empty(), "label manifest '", path, "': no entries");
  return m;
}

LabelManifest LabelManifest::from_pairs(const std::string& source,
                                        const std::vector<std::pair<std::string, std::string>>& pairs) {
  LabelManifest m;
  m.source_ = source;
  for (const auto& [key, cls] : pairs) m.add(key, cls, source);
  KRAIT_CHECK(!m.labels_.empty(), source, ": no labeled entries");
  return m;
}

std::optional<int32_t> LabelManifest::find(const std::string& key) const {
  const auto it = labels_.find(key);
  if (it == labels_.end()) return std::nullopt;
  return it->second;
}

int32_t LabelManifest::label_of(const std::string& key, const std::string& what) const {
  const auto label = find(key);
  KRAIT_CHECK(label.has_value(), what, ": no label for '", key, "' in the manifest '", source_, "'");
  return *label;
}

}  // namespace krait::data
