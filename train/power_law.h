// train/power_law.h — power-law fits of loss against compute for scaling-law reports:
//
//   fit_power_law:         L = a C^-b, by least squares on ln L = ln a - b ln C (linear regression)
//   fit_power_law_offset:  L = e + a C^-b, 0 < e < min L, by Levenberg-Marquardt on the residuals
//                          ln L - ln(e + a C^-b), in the parameters (ln a, b, u) with e = min L * sigmoid(u)
//
// Standard errors come from the residual variance s^2 = SSR / (n - p) (p = 2 or 3 parameters) times
// the inverse of J^T J (for the linear fit, the textbook formulas), carried to a and e by the delta
// method (se(a) = a se(ln a), se(e) = e (1 - e / min L) se(u)). R^2 = 1 - SSR / SST of ln L.
// Depends on nothing but the standard library and common/error.h.
#pragma once

#include <string>
#include <vector>

namespace krait::train {

struct PowerLawFit {
  double a = 0, a_se = 0;
  double b = 0, b_se = 0;
  bool has_offset = false;
  double e = 0, e_se = 0;  // 0 without an offset
  double r2 = 0;           // of ln L
  int points = 0;
  int iterations = 0;      // Levenberg-Marquardt steps (0 for the linear fit)

  // The fitted loss at compute c.
  double operator()(double c) const;
};

// Fits L = a C^-b to (compute[i], loss[i]). Throws krait::Error naming the problem when the lists
// differ in length, there are fewer than 3 points, a value is not positive and finite, or all
// compute values are equal.
PowerLawFit fit_power_law(const std::vector<double>& compute, const std::vector<double>& loss);

// Fits L = e + a C^-b. Throws as fit_power_law does (with fewer than 4 points), and when the fit
// does not converge within 500 steps, its exponent is not positive, or its J^T J is singular (e run
// to a bound: the points follow a plain power law, or no power law).
PowerLawFit fit_power_law_offset(const std::vector<double>& compute, const std::vector<double>& loss);

// One line, e.g. "mamba: L = 12.3 (+-0.4) * C^-0.051 (+-0.002), R^2 0.998, 6 runs"; with an offset
// "L = 1.69 (+-0.02) + 12.3 (+-0.4) * C^-0.051 (+-0.002), ..."; a negative b reads "C^+0.2".
// `variable` names C.
std::string format_power_law(const std::string& name, const PowerLawFit& fit, const std::string& variable = "C");

}  // namespace krait::train
