// data/label_manifest.h — LabelManifest: which class each file or record belongs to, read from a
// TSV file of `key<TAB>class` lines ('#' starts a comment line; blank lines are skipped). A key is a
// file's path as the manifest's user names it (e.g. relative to a folder) or a record's name (a FASTA
// id). Class ids follow the classes' first appearance in the file, or the order given.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace krait::data {

class LabelManifest {
 public:
  // Errors name the file and 1-based line: a line without exactly one tab, an empty key or class, a
  // key given twice, an empty manifest.
  static LabelManifest read(const std::string& path);
  // Classes named by the keys' folders, for "labels from folder names": key -> its parent folder.
  static LabelManifest from_pairs(const std::string& source, const std::vector<std::pair<std::string, std::string>>& pairs);

  const std::vector<std::string>& classes() const { return classes_; }
  std::optional<int32_t> find(const std::string& key) const;
  // The class of key; throws naming the manifest and `what` (e.g. "record 'chr1' of genome.fa")
  // when the key is missing.
  int32_t label_of(const std::string& key, const std::string& what) const;
  const std::string& source() const { return source_; }
  size_t size() const { return labels_.size(); }

 private:
  void add(const std::string& key, const std::string& cls, const std::string& where);

  std::string source_;
  std::vector<std::string> classes_;
  std::map<std::string, int32_t> labels_;
};

}  // namespace krait::data
