#pragma once
// DDIM inversion (METHODS.md 5, VMC): a clean clip run up the sampler's timesteps with the inverse of the
// deterministic DDIM update, as diffusers' DDIMInverseScheduler does, to the noise level of the sampler's
// first timestep; deterministic DDIM from there reconstructs the clip (up to the inversion's error).
//
// With the sampler's timesteps ascending, tau_0 < ... < tau_{N-1}, step k takes the sample at level
// tau_{k-1} (the clean clip, alpha_bar = 1, for k = 0) to level tau_k:
//   eps = eps_hat(x, tau_k);  x0 = (x - sqrt(1 - ab_prev) eps) / sqrt(ab_prev);  x = sqrt(ab_k) x0 + sqrt(1 - ab_k) eps
// (the model is asked at the target timestep, diffusers' convention). For DDIM with leading spacing tau_{k-1}
// is diffusers' t - T // N. `refine` > 0 adds that many fixed-point iterations per step solving the exact
// inverse of the DDIM step, x_k = (sqrt(ab_k) / sqrt(ab_prev)) (x_prev - c eps_hat(x_k, tau_k)) with
// c = sqrt(1 - ab_prev) - sqrt(ab_prev) sqrt(1 - ab_k) / sqrt(ab_k): the DDIM step from tau_k then lands on
// x_prev exactly once the iteration has converged.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "methods/backbone/backbone.h"
#include "methods/noise/noise_init.h"
#include "methods/samplers/denoise.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {

struct InversionResult {
  at::Tensor latent;      // [B, C, F, H, W] at the noise level of timesteps.front()
  int64_t model_calls = 0;
};

// `clean` [B, C, F, H, W]; `timesteps` the sampler's own, descending (inverted in ascending order).
InversionResult ddim_invert(const Denoise& denoise, const at::Tensor& clean, const NoiseSchedule& schedule,
                            const std::vector<double>& timesteps, Prediction prediction, int64_t refine = 0);

// alphas_cumprod at a timestep: the table at integer timesteps, 1 / (1 + sigma^2) with the VE sigma
// interpolated at fractional ones (as the samplers read them), 1 below 0 (clean).
double alpha_bar_at(const NoiseSchedule& schedule, double t);

// The noise init "ddim-inversion": the start latent is the inversion of each video's source clip. It needs
// the source clips and the backbone, which only a method that has them passes (vmc, through invert());
// drawn on its own, as a plain noise init, it is one clear error.
class DdimInversionNoise : public NoiseInit {
 public:
  explicit DdimInversionNoise(int64_t refine) : refine_(refine) {}
  at::Tensor draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const override;
  InversionResult invert(const Denoise& denoise, const at::Tensor& clean, const NoiseSchedule& schedule,
                         const std::vector<double>& timesteps, Prediction prediction) const {
    return ddim_invert(denoise, clean, schedule, timesteps, prediction, refine_);
  }
  int64_t refine() const { return refine_; }

 private:
  int64_t refine_;
};

}  // namespace vdlab
