#pragma once
// Starting a run mid-schedule (img2img, Dr.Mo's switch point, VMC's inverted latents), as diffusers'
// `add_noise` + `timesteps[t_start * order:]` does: the sample at step k is x_t = alpha_t x0 + sigma_t eps
// at the timestep of step k, and the sampler runs steps k..N-1 of its full schedule (a multistep sampler
// starts its history afresh at k, so its first step there is first order).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "methods/schedules/noise_schedule.h"

namespace vdlab {

// x0 [B, C, F, H, W] noised to per-frame timesteps t [B, F]: alpha x0 + sigma noise with the VP alpha and
// sigma of the VE sigma interpolated at t (the samplers' own reading of fractional timesteps).
at::Tensor add_noise(const NoiseSchedule& schedule, const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t);

// The first step whose timestep is at most t (timesteps descending). Throws ConfigError when none is.
int64_t start_step_at(const std::vector<double>& timesteps, double t);

}  // namespace vdlab
