// train/metrics_log.h — MetricsLog: the run's metrics file, one JSON object per line (JSON Lines),
// one "train" record per optimizer step and one "eval" record per evaluation; krait-plot reads it.
// Also the JSON scalars it writes (run summaries write them too) and the human progress line.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace krait::train {

// A classifier's evaluation: class names and confusion[true][predicted] counts.
struct ClassMetrics {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> confusion;
};

class MetricsLog {
 public:
  // Opens `path` for appending. When resuming from `resume_step`, records after that step (written
  // by the interrupted run after its last checkpoint) are dropped first, so the file reads as one
  // run.
  MetricsLog(const std::string& path, int64_t resume_step);

  // Writes {"kind": kind, "step": step, <fields>...} and flushes; with classes, also
  // "classes": [names...] and "confusion": [[row of true class 0]...] (krait-plot skips arrays).
  void write(const std::string& kind, int64_t step, const std::vector<std::pair<std::string, double>>& fields,
             const ClassMetrics* classes = nullptr);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// A number as JSON text, "%.9g"; JSON has no NaN or infinity, so they are written as the strings
// "nan", "inf" and "-inf" (krait-plot skips them).
std::string json_number(double v);

// "1:02:03" or "2:03" for a number of seconds.
std::string format_duration(double seconds);

}  // namespace krait::train
