// train/power_law.cpp — fit_power_law, fit_power_law_offset and format_power_law (see power_law.h).
#include "train/power_law.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace krait::train {
namespace {

constexpr int kMaxIterations = 500;
using Vector3 = std::array<double, 3>;
using Matrix3 = std::array<Vector3, 3>;

// ln C and ln L of the points, after checking them; `parameters` is the model's count.
struct LogPoints {
  std::vector<double> x, y;
  double x_mean = 0, y_mean = 0, sst = 0;

  LogPoints(const std::vector<double>& compute, const std::vector<double>& loss, int parameters, const char* model) {
    KRAIT_CHECK(compute.size() == loss.size(), "power-law fit: ", compute.size(), " compute values but ", loss.size(),
                " losses");
    KRAIT_CHECK(compute.size() >= static_cast<size_t>(parameters) + 1, "power-law fit of ", model, ": ",
                compute.size(), " points for ", parameters, " parameters; needs at least ", parameters + 1,
                " (one more than the parameters, for the standard errors)");
    for (size_t i = 0; i < compute.size(); ++i) {
      KRAIT_CHECK(std::isfinite(compute[i]) && compute[i] > 0 && std::isfinite(loss[i]) && loss[i] > 0,
                  "power-law fit: point ", i, " (compute ", compute[i], ", loss ", loss[i],
                  ") is not positive and finite");
      x.push_back(std::log(compute[i]));
      y.push_back(std::log(loss[i]));
    }
    const auto [lo, hi] = std::minmax_element(compute.begin(), compute.end());
    KRAIT_CHECK(*lo != *hi, "power-law fit: all ", compute.size(), " points have the same compute (", *lo,
                "), so the exponent is not determined");
    const double n = static_cast<double>(x.size());
    for (size_t i = 0; i < x.size(); ++i) x_mean += x[i] / n, y_mean += y[i] / n;
    for (double v : y) sst += (v - y_mean) * (v - y_mean);
  }
  double n() const { return static_cast<double>(x.size()); }
  double r2(double ssr) const { return sst > 0 ? 1 - ssr / sst : 1.0; }
};

// Least-squares line y = intercept + slope (x - x_mean) through (x, y), and its residual sum of squares.
struct LineFit {
  double intercept = 0, slope = 0, ssr = 0, sxx = 0;
};
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y, double x_mean) {
  LineFit fit;
  double sxy = 0, y_mean = 0;
  for (double v : y) y_mean += v / static_cast<double>(y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    fit.sxx += (x[i] - x_mean) * (x[i] - x_mean);
    sxy += (x[i] - x_mean) * (y[i] - y_mean);
  }
  fit.slope = sxy / fit.sxx;
  fit.intercept = y_mean;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - fit.intercept - fit.slope * (x[i] - x_mean);
    fit.ssr += r * r;
  }
  return fit;
}

// Solves m v = rhs by Gaussian elimination with partial pivoting; false when m is singular
// (a pivot below 1e-13 of its column's scale).
bool solve3(Matrix3 m, Vector3 rhs, Vector3& v) {
  Vector3 scale{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) scale[j] = std::max(scale[j], std::abs(m[i][j]));
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int row = col + 1; row < 3; ++row)
      if (std::abs(m[row][col]) > std::abs(m[pivot][col])) pivot = row;
    if (!(std::abs(m[pivot][col]) > 1e-13 * scale[col])) return false;
    std::swap(m[pivot], m[col]);
    std::swap(rhs[pivot], rhs[col]);
    for (int row = col + 1; row < 3; ++row) {
      const double factor = m[row][col] / m[col][col];
      for (int j = col; j < 3; ++j) m[row][j] -= factor * m[col][j];
      rhs[row] -= factor * rhs[col];
    }
  }
  for (int row = 2; row >= 0; --row) {
    double sum = rhs[row];
    for (int j = row + 1; j < 3; ++j) sum -= m[row][j] * v[j];
    v[row] = sum / m[row][row];
  }
  return true;
}

double sigmoid(double u) { return 1 / (1 + std::exp(-u)); }

// The offset model at parameters p = (ln A, b, u), in centred log compute z = ln C - mean ln C:
// f = ln(e + A exp(-b z)), e = e_max sigmoid(u); residuals y - f, their SSR, and J = df/dp.
struct OffsetModel {
  const LogPoints& points;
  double e_max;

  double ssr(const Vector3& p, std::vector<Vector3>* jacobian = nullptr, std::vector<double>* residuals = nullptr) const {
    const double s = sigmoid(p[2]), e = e_max * s;
    double sum = 0;
    for (size_t i = 0; i < points.x.size(); ++i) {
      const double z = points.x[i] - points.x_mean, g = std::exp(p[0] - p[1] * z), d = e + g;
      const double r = points.y[i] - std::log(d);
      sum += r * r;
      if (jacobian) (*jacobian)[i] = {g / d, -z * g / d, e_max * s * (1 - s) / d};
      if (residuals) (*residuals)[i] = r;
    }
    return sum;
  }
};

// A starting point: of e = 5%, 10%, ..., 95% of e_max, the one whose line through ln(L - e) fits best.
Vector3 offset_start(const LogPoints& points, const OffsetModel& model) {
  Vector3 best{};
  double best_ssr = INFINITY;
  for (int step = 1; step < 20; ++step) {
    const double fraction = step / 20.0, e = fraction * model.e_max;
    std::vector<double> y;
    for (double v : points.y) y.push_back(std::log(std::exp(v) - e));
    const LineFit line = fit_line(points.x, y, points.x_mean);
    const Vector3 p{line.intercept, -line.slope, std::log(fraction / (1 - fraction))};
    if (const double ssr = model.ssr(p); ssr < best_ssr) best = p, best_ssr = ssr;
  }
  return best;
}

std::string format_value(double value, double se) {
  char text[64];
  std::snprintf(text, sizeof text, "%.4g (+-%.2g)", value, se);
  return text;
}

}  // namespace

double PowerLawFit::operator()(double c) const { return e + a * std::pow(c, -b); }

PowerLawFit fit_power_law(const std::vector<double>& compute, const std::vector<double>& loss) {
  const LogPoints points(compute, loss, 2, "L = a C^-b");
  const LineFit line = fit_line(points.x, points.y, points.x_mean);
  const double s2 = line.ssr / (points.n() - 2);
  PowerLawFit fit;
  const double log_a = line.intercept - line.slope * points.x_mean;
  fit.a = std::exp(log_a);
  fit.a_se = fit.a * std::sqrt(s2 * (1 / points.n() + points.x_mean * points.x_mean / line.sxx));
  fit.b = -line.slope;
  fit.b_se = std::sqrt(s2 / line.sxx);
  fit.r2 = points.r2(line.ssr);
  fit.points = static_cast<int>(points.x.size());
  return fit;
}

PowerLawFit fit_power_law_offset(const std::vector<double>& compute, const std::vector<double>& loss) {
  const LogPoints points(compute, loss, 3, "L = e + a C^-b");
  const OffsetModel model{points, *std::min_element(loss.begin(), loss.end())};
  const size_t n = points.x.size();
  std::vector<Vector3> jacobian(n);
  std::vector<double> residuals(n);
  Vector3 p = offset_start(points, model);
  double ssr = model.ssr(p, &jacobian, &residuals), lambda = 1e-3;
  Matrix3 jtj{};
  bool converged = false;
  int iteration = 0;
  for (; iteration < kMaxIterations && !converged; ++iteration) {
    Vector3 gradient{};
    jtj = {};
    for (size_t i = 0; i < n; ++i)
      for (int j = 0; j < 3; ++j) {
        gradient[j] += jacobian[i][j] * residuals[i];
        for (int k = 0; k < 3; ++k) jtj[j][k] += jacobian[i][j] * jacobian[i][k];
      }
    // Raise the damping until a step lowers the SSR; none doing so even at 1e12 means a minimum.
    for (;; lambda *= 10) {
      if (lambda > 1e12) {
        converged = true;
        break;
      }
      Matrix3 damped = jtj;
      for (int j = 0; j < 3; ++j) damped[j][j] += lambda * jtj[j][j];
      Vector3 step{};
      if (!solve3(damped, gradient, step)) continue;
      const Vector3 next{p[0] + step[0], p[1] + step[1], p[2] + step[2]};
      const double next_ssr = model.ssr(next);
      if (!(next_ssr < ssr)) continue;
      bool small = true;
      for (int j = 0; j < 3; ++j) small = small && std::abs(step[j]) < 1e-10 * (1 + std::abs(p[j]));
      converged = small || ssr - next_ssr < 1e-14 * ssr || next_ssr < 1e-28 * static_cast<double>(n);
      p = next;
      ssr = model.ssr(p, &jacobian, &residuals);
      lambda = std::max(lambda / 10, 1e-12);
      break;
    }
  }
  KRAIT_CHECK(converged, "power-law fit L = e + a C^-b did not converge in ", kMaxIterations, " steps (e = ",
              model.e_max * sigmoid(p[2]), ", b = ", p[1], "); the points may not follow an offset power law");
  KRAIT_CHECK(p[1] > 0, "power-law fit L = e + a C^-b: the exponent came out ", p[1],
              ", not positive: the loss does not fall towards an offset as compute grows; fit without the offset");
  // The covariance s^2 (J^T J)^-1, column by column.
  Matrix3 covariance{};
  for (int col = 0; col < 3; ++col) {
    Vector3 unit{}, column{};
    unit[col] = 1;
    KRAIT_CHECK(solve3(jtj, unit, column), "power-law fit L = e + a C^-b: J^T J is singular at the solution (e = ",
                model.e_max * sigmoid(p[2]), " of at most ", model.e_max,
                "), so the parameters are not determined by these points; fit without the offset");
    for (int row = 0; row < 3; ++row) covariance[row][col] = column[row] * ssr / (static_cast<double>(n) - 3);
  }
  PowerLawFit fit;
  const double xm = points.x_mean, s = sigmoid(p[2]);
  fit.has_offset = true;
  fit.a = std::exp(p[0] + p[1] * xm);
  fit.a_se = fit.a * std::sqrt(std::max(0.0, covariance[0][0] + xm * xm * covariance[1][1] + 2 * xm * covariance[0][1]));
  fit.b = p[1];
  fit.b_se = std::sqrt(std::max(0.0, covariance[1][1]));
  fit.e = model.e_max * s;
  fit.e_se = model.e_max * s * (1 - s) * std::sqrt(std::max(0.0, covariance[2][2]));
  fit.r2 = points.r2(ssr);
  fit.points = static_cast<int>(n);
  fit.iterations = iteration;
  return fit;
}

std::string format_power_law(const std::string& name, const PowerLawFit& fit, const std::string& variable) {
  char tail[96];
  std::snprintf(tail, sizeof tail, "%c%.4g (+-%.2g), R^2 %.4f, %d runs", fit.b < 0 ? '+' : '-', std::abs(fit.b),
                fit.b_se, fit.r2, fit.points);
  return name + ": L = " + (fit.has_offset ? format_value(fit.e, fit.e_se) + " + " : "") +
         format_value(fit.a, fit.a_se) + " * " + variable + "^" + tail;
}

}  // namespace krait::train
