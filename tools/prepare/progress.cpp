// tools/prepare/progress.cpp — ProgressBar (see progress.h).
#include "tools/prepare/progress.h"

#include <algorithm>
#include <cstdio>

namespace krait::prepare {

namespace {
constexpr int kBarWidth = 24;
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
}  // namespace

std::string format_amount(double amount, const std::string& unit) {
  const bool bytes = unit == "B";
  const char* suffixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (amount >= 1000.0 && i < 4) {
    amount /= 1000.0;
    ++i;
  }
  char text[64];
  if (i == 0) {
    std::snprintf(text, sizeof text, "%.0f", amount);
  } else {
    std::snprintf(text, sizeof text, "%.*f%s", amount < 10 ? 2 : (amount < 100 ? 1 : 0), amount, suffixes[i]);
  }
  return std::string(text) + (bytes ? (i == 0 ? " B" : "B") : " " + unit);
}

ProgressBar::ProgressBar(std::ostream* out, std::string label, uint64_t total_items, uint64_t total_amount,
                         std::string unit)
    : out_(out),
      label_(std::move(label)),
      unit_(std::move(unit)),
      total_items_(total_items),
      total_amount_(total_amount),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (out_) draw();
}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

void ProgressBar::update(uint64_t items_done, uint64_t amount_done) {
  items_ = items_done;
  amount_ = amount_done;
  if (!out_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool done = items_ >= total_items_ && amount_ >= total_amount_;
  if (!done && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  draw();
}

void ProgressBar::finish() {
  finished_ = true;
  if (!out_) return;
  draw();
  *out_ << "\n" << std::flush;
}

void ProgressBar::draw() {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction =
      total_amount_ > 0 ? std::min(1.0, static_cast<double>(amount_) / static_cast<double>(total_amount_))
                        : (total_items_ > 0 ? std::min(1.0, static_cast<double>(items_) / total_items_) : 1.0);
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string line = label_ + " [" + std::string(filled, '#') + std::string(kBarWidth - filled, '-') + "] " +
                     std::to_string(items_) + "/" + std::to_string(total_items_) + "  " +
                     format_amount(static_cast<double>(amount_), unit_) + " / " +
                     format_amount(static_cast<double>(total_amount_), unit_);
  if (seconds > 0.05) line += "  " + format_amount(static_cast<double>(amount_) / seconds, unit_) + "/s";
  const size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');  // erase a longer old line
  last_width_ = width;
  *out_ << "\r" << line << std::flush;
  drawn_ = true;
}

}  // namespace krait::prepare
