// tools/plot/ticks.h — axis tick values (1-2-5 steps on linear axes, 1-2-5 times powers of ten on
// log axes) and their labels.
#pragma once

#include <string>
#include <vector>

namespace krait::plot {

// Ticks i * step, where step is 1, 2 or 5 times a power of ten chosen for at most about `target`
// intervals, from the last at or below lo to the first at or above hi (up to rounding in the last
// bits). A range of zero width is widened by 10% of the value (by 1 around zero) first.
std::vector<double> nice_ticks(double lo, double hi, int target);

// Ticks for a log axis over [lo, hi], 0 < lo <= hi: within one decade, the positive nice_ticks;
// up to three decades, the values 1, 2 and 5 times powers of ten; beyond, the powers of ten alone
// (every n-th when there are many). They run from the last at or below lo to the first at or above
// hi, except that linear ticks stop at the first positive one.
std::vector<double> log_ticks(double lo, double hi);

// Labels for ticks: decimals enough for the step between ticks ("0.5", "0.0002"), k/M/G suffixes
// for large values ("250k", "1.5M"), exponents for tiny steps. On a log axis each tick is labelled
// on its own, with the decimals its value needs ("0.02", "2.4", "20k"), while all ticks lie in
// [1e-3, 1e6); beyond, powers of ten read "10^k" and the 2s and 5s between them are left unlabelled
// (""), or, when no tick is a power of ten, every tick reads like "2e17".
std::vector<std::string> tick_labels(const std::vector<double>& ticks, bool log);

// A label's exponent when it reads "10^k" (k), else "": renderers draw k as a superscript.
std::string power_of_ten_exponent(const std::string& label);

}  // namespace krait::plot
