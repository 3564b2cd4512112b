// tools/prepare/progress.h — ProgressBar: one status line redrawn with '\r' on a stream (stderr in
// krait-prepare): items done / total, an amount (bytes or ids) done / total, and the rate. Given no
// stream it draws nothing, so the caller decides when it is quiet (--quiet, stderr not a terminal).
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace krait::prepare {

class ProgressBar {
 public:
  // unit names the amount: "B" for bytes (shown as kB, MB, ...), anything else (e.g. "ids") as a count
  // with k / M / G suffixes.
  ProgressBar(std::ostream* out, std::string label, uint64_t total_items, uint64_t total_amount, std::string unit);
  ~ProgressBar();  // finish()es an unfinished bar
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws at most every 100 ms (and always when everything is done).
  void update(uint64_t items_done, uint64_t amount_done);
  // Draws the final state and ends the line.
  void finish();

 private:
  void draw();

  std::ostream* out_;
  std::string label_, unit_;
  uint64_t total_items_, total_amount_;
  uint64_t items_ = 0, amount_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  size_t last_width_ = 0;
  bool drawn_ = false, finished_ = false;
};

// "12.3 MB" for unit "B", "4.56M ids" otherwise.
std::string format_amount(double amount, const std::string& unit);

}  // namespace krait::prepare
