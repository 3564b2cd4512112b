// tools/plot/ticks.cpp — nice_ticks, log_ticks and tick_labels (see ticks.h).
#include "tools/plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace krait::plot {
namespace {

constexpr double kSlack = 1e-9;  // relative tolerance when comparing values with tick positions

// The smallest of 1, 2, 5 and 10 times a power of ten that is at least `raw` (> 0).
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double mantissa : {1.0, 2.0, 5.0})
    if (mantissa * magnitude >= raw * (1 - kSlack)) return mantissa * magnitude;
  return 10 * magnitude;
}

// `value` labelled with enough decimals for `step`, divided by the suffix's scale for `biggest`.
std::string format_tick(double value, double step, double biggest) {
  if (std::abs(value) < step * kSlack) return "0";
  double scale = 1;
  const char* suffix = "";
  if (biggest >= 1e9) scale = 1e9, suffix = "G";
  else if (biggest >= 1e6) scale = 1e6, suffix = "M";
  else if (biggest >= 1e4) scale = 1e3, suffix = "k";
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step / scale) - kSlack)));
  char text[48];
  if (decimals > 5) std::snprintf(text, sizeof text, "%.3g", value);
  else std::snprintf(text, sizeof text, "%.*f%s", decimals, value / scale, suffix);
  return text;
}

// The largest power of ten that `value` is a whole multiple of (to six places below its own).
double exact_step(double value) {
  if (value == 0) return 1;
  double step = std::pow(10.0, std::floor(std::log10(std::abs(value))));
  for (int i = 0; i < 6; ++i, step /= 10) {
    const double multiple = value / step;
    if (std::abs(multiple - std::round(multiple)) < 1e-6) break;
  }
  return step;
}

// Whether `value` (> 0) is a power of ten, and which.
bool power_of_ten(double value, int& exponent) {
  exponent = static_cast<int>(std::lround(std::log10(value)));
  return std::abs(value / std::pow(10.0, exponent) - 1) < 1e-9;
}

// "2e17", "1.5e-05" -> "1.5e-5": %g without the exponent's plus sign and leading zeros.
std::string scientific(double value) {
  char text[48];
  std::snprintf(text, sizeof text, "%.3g", value);
  std::string out = text;
  const size_t e = out.find('e');
  if (e == std::string::npos) return out;
  std::string exponent = out.substr(e + 1);
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return out.substr(0, e + 1) + (negative ? "-" : "") + exponent;
}

// Log-axis labels for ticks reaching outside [1e-3, 1e6) (see tick_labels).
std::vector<std::string> wide_log_labels(const std::vector<double>& ticks) {
  std::vector<std::string> labels;
  bool any_power = false;
  for (double t : ticks) {
    int exponent = 0;
    const bool power = power_of_ten(t, exponent);
    any_power = any_power || power;
    labels.push_back(power ? "10^" + std::to_string(exponent) : "");
  }
  if (!any_power)
    for (size_t i = 0; i < ticks.size(); ++i) labels[i] = scientific(ticks[i]);
  return labels;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= std::max(std::abs(lo), std::abs(hi)) * kSlack) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double step = nice_step((hi - lo) / std::max(target, 1));
  const double first = std::floor(lo / step + kSlack);
  const double last = std::ceil(hi / step - kSlack);
  std::vector<double> ticks;
  for (double i = first; i <= last; ++i) ticks.push_back(i * step);
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (hi < lo * 10) {
    std::vector<double> ticks = nice_ticks(lo, hi, 5);
    std::erase_if(ticks, [](double t) { return t <= 0; });
    return ticks;
  }
  const int low_power = static_cast<int>(std::floor(std::log10(lo) + kSlack));
  const int high_power = static_cast<int>(std::ceil(std::log10(hi) - kSlack));
  const int decades = high_power - low_power;
  const int every = decades <= 8 ? 1 : (decades + 7) / 8;
  std::vector<double> candidates;
  for (int power = low_power; power < high_power + every; power += every)
    for (double mantissa : {1.0, 2.0, 5.0})
      if (mantissa == 1 || decades <= 3) candidates.push_back(mantissa * std::pow(10.0, power));
  std::vector<double> ticks;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const bool after_first = i + 1 < candidates.size() && candidates[i + 1] <= lo * (1 + kSlack);
    if (!after_first) ticks.push_back(candidates[i]);
    if (candidates[i] >= hi * (1 - kSlack)) break;
  }
  return ticks;
}

std::vector<std::string> tick_labels(const std::vector<double>& ticks, bool log) {
  double biggest = 0;
  for (double t : ticks) biggest = std::max(biggest, std::abs(t));
  const double step = ticks.size() > 1 ? std::abs(ticks[1] - ticks[0]) : std::max(biggest, 1.0);
  const bool wide = std::any_of(ticks.begin(), ticks.end(), [](double t) { return t >= 1e6 || t < 1e-3; });
  if (log && wide) return wide_log_labels(ticks);
  std::vector<std::string> labels;
  for (double t : ticks) labels.push_back(log ? format_tick(t, exact_step(t), t) : format_tick(t, step, biggest));
  return labels;
}

std::string power_of_ten_exponent(const std::string& label) {
  return label.starts_with("10^") ? label.substr(3) : "";
}

}  // namespace krait::plot
