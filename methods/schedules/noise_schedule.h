#pragma once
// The training noise schedule: betas and alphas_cumprod over the T training timesteps (METHODS.md 1.1).
//
// Tables are computed in float32 exactly as diffusers does (torch.linspace in float32; the cosine
// schedule in double then rounded; cumprod accumulated in double and rounded per entry, as torch's CPU
// cumprod does) and then held in double, so sampler studies run on the very numbers the reference uses.
#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct NoiseSchedule {
  int64_t num_train_timesteps = 1000;
  std::string betas_kind = "linear";  // linear | scaled_linear | squaredcos_cap_v2
  double beta_start = 0.0001, beta_end = 0.02;
  std::vector<double> betas, alphas_cumprod;

  // cfg: {betas, beta_start, beta_end, num_train_timesteps}; missing fields take the defaults of params().
  // Throws ConfigError naming the field for unknown kinds or out-of-range values.
  static NoiseSchedule from_config(const Json& cfg, const std::string& path = "schedule");
  static NoiseSchedule linear(double beta_start = 0.0001, double beta_end = 0.02, int64_t steps = 1000);
  static const ParamSpecs& params();
  Json to_config() const;

  // VP quantities at integer training timestep t (0 <= t < T).
  double alpha(int64_t t) const;  // sqrt(ac[t])
  double sigma(int64_t t) const;  // sqrt(1 - ac[t])
  // The variance-exploding sigma of the k-diffusion form, sqrt((1 - ac[t]) / ac[t]).
  double ve_sigma(int64_t t) const;
};

}  // namespace vdlab
