#include "engine/sched/noise_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "engine/util/error.h"

namespace ezivk::sched {
namespace {

// numpy rounds a product before adding; a compiler allowed to contract a*b+c into one fma would not. The
// volatile store forces the intermediate rounding whatever -ffp-contract says.
double mul_add_rounded(double a, double b, double c) {
  volatile double p = a * b;
  return p + c;
}

}  // namespace

std::vector<float> torch_linspace_f32(double start_d, double end_d, int n) {
  std::vector<float> out(static_cast<size_t>(std::max(n, 0)));
  if (n <= 0) return out;
  const float start = static_cast<float>(start_d);
  const float end = static_cast<float>(end_d);
  if (n == 1) {
    out[0] = start;
    return out;
  }
  const float step = (end - start) / static_cast<float>(n - 1);
  const int halfway = n / 2;
  for (int i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)] = i < halfway ? std::fma(step, static_cast<float>(i), start)
                                              : std::fma(-step, static_cast<float>(n - 1 - i), end);
  }
  return out;
}

std::vector<float> make_betas(BetaSchedule schedule, double beta_start, double beta_end, int n) {
  switch (schedule) {
    case BetaSchedule::Linear: return torch_linspace_f32(beta_start, beta_end, n);
    case BetaSchedule::ScaledLinear: {
      std::vector<float> b = torch_linspace_f32(std::sqrt(beta_start), std::sqrt(beta_end), n);
      for (float& x : b) x = x * x;
      return b;
    }
    case BetaSchedule::SquaredCosCapV2: {
      const auto alpha_bar = [](double s) {
        const double c = std::cos((s + 0.008) / 1.008 * std::numbers::pi / 2);
        return c * c;
      };
      std::vector<float> b(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        const double t1 = static_cast<double>(i) / n;
        const double t2 = static_cast<double>(i + 1) / n;
        b[static_cast<size_t>(i)] = static_cast<float>(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
      }
      return b;
    }
  }
  return {};
}

std::vector<float> cumulative_alphas(const std::vector<float>& betas) {
  std::vector<float> out(betas.size());
  double acc = 1.0;
  for (size_t i = 0; i < betas.size(); ++i) {
    acc *= static_cast<double>(1.0f - betas[i]);
    out[i] = static_cast<float>(acc);
  }
  return out;
}

std::vector<float> training_sigmas(const std::vector<float>& alphas_cumprod) {
  std::vector<float> out(alphas_cumprod.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const float a = alphas_cumprod[i];
    out[i] = std::sqrt((1.0f - a) / a);
  }
  return out;
}

double np_round(double x) {
  // nearbyint follows the current rounding mode; numpy's rint assumes the default, round-half-to-even.
  return std::nearbyint(x);
}

std::vector<double> np_linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<size_t>(std::max(num, 0)));
  if (num <= 0) return y;
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double delta = stop - start;
  const double div = num - 1;
  const double step = delta / div;
  for (int i = 0; i < num; ++i) {
    const double fi = i;
    y[static_cast<size_t>(i)] = step == 0 ? mul_add_rounded(fi / div, delta, start) : mul_add_rounded(fi, step, start);
  }
  y.back() = stop;
  return y;
}

std::vector<double> np_arange(double start, double stop, double step) {
  const double len_f = std::ceil((stop - start) / step);
  if (!(len_f > 0)) return {};
  const auto len = static_cast<size_t>(len_f);
  std::vector<double> y(len);
  y[0] = start;
  if (len == 1) return y;
  y[1] = start + step;
  // numpy fills from the first two values, so the increment is (start + step) - start, not step.
  const double delta = y[1] - start;
  for (size_t i = 2; i < len; ++i) y[i] = mul_add_rounded(static_cast<double>(i), delta, start);
  return y;
}

double np_interp(double x, const std::vector<float>& fp) {
  const auto n = static_cast<int64_t>(fp.size());
  if (std::isnan(x)) return x;
  if (x < 0) return fp.front();
  if (x > static_cast<double>(n - 1)) return fp.back();
  const auto j = std::min(static_cast<int64_t>(std::floor(x)), n - 1);
  const double yj = fp[static_cast<size_t>(j)];
  if (j == n - 1 || static_cast<double>(j) == x) return yj;
  const double slope = (static_cast<double>(fp[static_cast<size_t>(j + 1)]) - yj) / 1.0;
  return mul_add_rounded(slope, x - static_cast<double>(j), yj);
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n) {
  const double rho = 7.0;
  const std::vector<double> ramp = np_linspace(0.0, 1.0, n);
  const double min_inv_rho = std::pow(sigma_min, 1 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1 / rho);
  std::vector<double> out(ramp.size());
  for (size_t i = 0; i < ramp.size(); ++i)
    out[i] = std::pow(mul_add_rounded(ramp[i], min_inv_rho - max_inv_rho, max_inv_rho), rho);
  return out;
}

std::vector<float> log_f32(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::log(v[i]);
  return out;
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  const auto n = static_cast<int64_t>(log_sigmas.size());
  // argmax of the running count of log_sigmas <= log_sigma: the last index where the count grows.
  int64_t low_idx = 0;
  for (int64_t j = 0; j < n; ++j)
    if (log_sigma - static_cast<double>(log_sigmas[static_cast<size_t>(j)]) >= 0) low_idx = j;
  low_idx = std::min(low_idx, n - 2);
  const int64_t high_idx = low_idx + 1;
  const float low = log_sigmas[static_cast<size_t>(low_idx)];
  const float high = log_sigmas[static_cast<size_t>(high_idx)];
  // low - high is a float32 difference in numpy (both operands float32); the rest is float64.
  double w = (static_cast<double>(low) - log_sigma) / static_cast<double>(low - high);
  w = std::clamp(w, 0.0, 1.0);
  volatile double a = (1 - w) * static_cast<double>(low_idx);
  volatile double b = w * static_cast<double>(high_idx);
  return a + b;
}

std::vector<int64_t> descending_grid(TimestepSpacing spacing, int T, int n, int steps_offset) {
  std::vector<int64_t> ts;
  switch (spacing) {
    case TimestepSpacing::Linspace:
      for (double v : np_linspace(0, T - 1, n)) ts.push_back(static_cast<int64_t>(np_round(v)));
      std::reverse(ts.begin(), ts.end());
      break;
    case TimestepSpacing::Leading: {
      const int64_t ratio = T / n;
      for (int64_t k = n - 1; k >= 0; --k) ts.push_back(k * ratio + steps_offset);
      break;
    }
    case TimestepSpacing::Trailing:
      for (double v : np_arange(T, 0, -static_cast<double>(T) / n)) ts.push_back(static_cast<int64_t>(np_round(v)) - 1);
      break;
  }
  return ts;
}

std::vector<float> euler_timestep_grid(TimestepSpacing spacing, int T, int n, int steps_offset) {
  std::vector<float> ts;
  switch (spacing) {
    case TimestepSpacing::Linspace:
      for (double v : np_linspace(0, T - 1, n)) ts.push_back(static_cast<float>(v));
      std::reverse(ts.begin(), ts.end());
      break;
    case TimestepSpacing::Leading: {
      const int64_t ratio = T / n;
      for (int64_t k = n - 1; k >= 0; --k) ts.push_back(static_cast<float>(k * ratio) + static_cast<float>(steps_offset));
      break;
    }
    case TimestepSpacing::Trailing:
      for (double v : np_arange(T, 0, -static_cast<double>(T) / n)) ts.push_back(static_cast<float>(np_round(v)) - 1.0f);
      break;
  }
  return ts;
}

void check_timesteps_in_range(const std::vector<int64_t>& ts, int T, const std::string& source, const char* scheduler) {
  for (int64_t t : ts) {
    if (t < 0 || t >= T)
      fail(source + ": the " + std::string(scheduler) + " scheduler's timestep " + std::to_string(t) +
           " falls outside the " + std::to_string(T) +
           " training timesteps (check steps_offset and the number of steps)");
  }
}

}  // namespace ezivk::sched
