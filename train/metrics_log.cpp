// train/metrics_log.cpp — MetricsLog (see metrics_log.h).
#include "train/metrics_log.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/json.h"

namespace krait::train {
namespace {

// The value of the "step" field of a line we wrote, or -1 when there is none.
int64_t step_of(const std::string& line) {
  const auto at = line.find("\"step\":");
  return at == std::string::npos ? -1 : std::atoll(line.c_str() + at + 7);
}

// Keeps only the lines whose step is at most `last_step`.
void drop_records_after(const std::string& path, int64_t last_step) {
  std::ifstream in(path);
  if (!in) return;
  std::vector<std::string> kept;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && step_of(line) <= last_step) kept.push_back(line);
  in.close();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const std::string& line : kept) out << line << '\n';
    KRAIT_CHECK(out.good(), "cannot rewrite metrics file '", tmp, "'");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

std::string json_number(double v) {
  if (std::isnan(v)) return "\"nan\"";
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  if (resume_step >= 0)
    drop_records_after(path, resume_step);
  else
    std::filesystem::remove(path);
  out_.open(path, std::ios::app);
  KRAIT_CHECK(out_.good(), "cannot open metrics file '", path, "' for writing");
}

void MetricsLog::write(const std::string& kind, int64_t step,
                       const std::vector<std::pair<std::string, double>>& fields, const ClassMetrics* classes) {
  std::ostringstream line;
  line << "{\"kind\":\"" << kind << "\",\"step\":" << step;
  for (const auto& [key, value] : fields) line << ",\"" << key << "\":" << json_number(value);
  if (classes != nullptr) {
    line << ",\"classes\":[";
    for (size_t i = 0; i < classes->names.size(); ++i) line << (i ? "," : "") << json_quote(classes->names[i]);
    line << "],\"confusion\":[";
    for (size_t i = 0; i < classes->confusion.size(); ++i) {
      line << (i ? "," : "") << "[";
      for (size_t j = 0; j < classes->confusion[i].size(); ++j) line << (j ? "," : "") << classes->confusion[i][j];
      line << "]";
    }
    line << "]";
  }
  line << "}\n";
  out_ << line.str();
  out_.flush();
  KRAIT_CHECK(out_.good(), "cannot write to metrics file '", path_, "' (disk full?)");
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

}  // namespace krait::train
