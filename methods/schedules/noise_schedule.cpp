#include "methods/schedules/noise_schedule.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace vdlab {

namespace {

// torch.linspace(start, end, n, dtype=float32) as diffusers calls it: the float32 kernel of the
// linked LibTorch, so every entry is the very float the reference uses.
std::vector<float> linspace_f32(double start, double end, int64_t n) {
  at::Tensor t = at::linspace(start, end, n, at::TensorOptions().dtype(at::kFloat));
  const float* p = t.data_ptr<float>();
  return std::vector<float>(p, p + n);
}

// diffusers' betas_for_alpha_bar with the cosine alpha_bar, computed in double, max_beta 0.999.
std::vector<float> cosine_betas(int64_t n) {
  auto alpha_bar = [](double t) { return std::pow(std::cos((t + 0.008) / 1.008 * M_PI / 2), 2.0); };
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double t1 = static_cast<double>(i) / static_cast<double>(n);
    const double t2 = static_cast<double>(i + 1) / static_cast<double>(n);
    out[static_cast<size_t>(i)] = static_cast<float>(std::min(1.0 - alpha_bar(t2) / alpha_bar(t1), 0.999));
  }
  return out;
}

}  // namespace

const ParamSpecs& NoiseSchedule::params() {
  static const ParamSpecs specs = {
      {"betas", "linear", "beta schedule over the training timesteps", {"linear", "scaled_linear", "squaredcos_cap_v2"}, {}},
      {"beta_start", 0.0001, "first beta (linear, scaled_linear)", {}, {}},
      {"beta_end", 0.02, "last beta (linear, scaled_linear)", {}, {}},
      {"num_train_timesteps", 1000, "training timesteps T", {}, {}},
  };
  return specs;
}

NoiseSchedule NoiseSchedule::from_config(const Json& cfg, const std::string& path) {
  const Params p(resolve_params(cfg, params(), path), path);
  NoiseSchedule s;
  s.betas_kind = p.get<std::string>("betas");
  s.beta_start = p.get<double>("beta_start");
  s.beta_end = p.get<double>("beta_end");
  s.num_train_timesteps = p.get<int64_t>("num_train_timesteps");
  const int64_t n = s.num_train_timesteps;
  if (n < 2) p.fail("num_train_timesteps", "must be at least 2, got " + std::to_string(n));
  if (!(s.beta_start > 0 && s.beta_start <= s.beta_end && s.beta_end < 1))
    p.fail("beta_end", "need 0 < beta_start <= beta_end < 1");

  std::vector<float> betas;
  if (s.betas_kind == "linear") {
    betas = linspace_f32(s.beta_start, s.beta_end, n);
  } else if (s.betas_kind == "scaled_linear") {
    betas = linspace_f32(std::sqrt(s.beta_start), std::sqrt(s.beta_end), n);
    for (float& b : betas) b = b * b;
  } else if (s.betas_kind == "squaredcos_cap_v2") {
    betas = cosine_betas(n);
  } else {
    p.fail("betas", "unknown beta schedule '" + s.betas_kind + "'");
  }
  // alphas = 1 - betas in float32; torch's CPU cumprod accumulates in double and rounds each entry.
  s.betas.resize(static_cast<size_t>(n));
  s.alphas_cumprod.resize(static_cast<size_t>(n));
  double acc = 1.0;
  for (size_t i = 0; i < betas.size(); ++i) {
    const float alpha = 1.0f - betas[i];
    acc *= static_cast<double>(alpha);
    s.betas[i] = static_cast<double>(betas[i]);
    s.alphas_cumprod[i] = static_cast<double>(static_cast<float>(acc));
  }
  return s;
}

NoiseSchedule NoiseSchedule::linear(double beta_start, double beta_end, int64_t steps) {
  return from_config({{"betas", "linear"}, {"beta_start", beta_start}, {"beta_end", beta_end},
                      {"num_train_timesteps", steps}});
}

Json NoiseSchedule::to_config() const {
  return {{"betas", betas_kind}, {"beta_start", beta_start}, {"beta_end", beta_end},
          {"num_train_timesteps", num_train_timesteps}};
}

double NoiseSchedule::alpha(int64_t t) const { return std::sqrt(alphas_cumprod.at(static_cast<size_t>(t))); }
double NoiseSchedule::sigma(int64_t t) const { return std::sqrt(1.0 - alphas_cumprod.at(static_cast<size_t>(t))); }
double NoiseSchedule::ve_sigma(int64_t t) const {
  const double ac = alphas_cumprod.at(static_cast<size_t>(t));
  return std::sqrt((1.0 - ac) / ac);
}

}  // namespace vdlab
