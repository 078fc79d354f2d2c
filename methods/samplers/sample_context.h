#pragma once
// What a sampler run needs besides the callback and the initial noise: the training schedule, what the
// network predicts, hooks, randomness, and optional per-frame timesteps (METHODS.md 6).
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/params.h"
#include "methods/backbone/backbone.h"
#include "methods/hooks/step_hooks.h"
#include "methods/samplers/denoise.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {

struct SampleContext {
  NoiseSchedule schedule = NoiseSchedule::linear();
  Prediction prediction = Prediction::eps;
  const StepHooks* hooks = nullptr;  // may be null
  at::Generator generator;           // draws of the stochastic samplers (DDPM, DDIM with eta > 0)
  StepNoise step_noise;              // when set, replaces the generator's draws
  // Optional [N, B, F] float64 timesteps, one schedule per frame, replacing the sampler's spacing
  // (N must equal the sampler's steps). Multistep samplers then compute h, r_k and rhos per frame.
  at::Tensor frame_timesteps;
  // Optional [B, F] bool: frames held at t = 0. They reach the model with t = 0 and come back
  // bitwise as given in the initial sample (image-to-video, interpolation, long-video conditioning).
  at::Tensor pinned;
  // The steps to run: [start_step, stop_step) of the sampler's N (stop -1 = N). A run begun at step k
  // takes the given sample as the one at step k (for Euler: the VP sample, which it scales to VE) and
  // starts a multistep history afresh; a run stopped at step k returns the sample at step k.
  int64_t start_step = 0;
  int64_t stop_step = -1;
};

struct SampleStats {
  int64_t nfe = 0;    // denoise calls made by the sampler
  int64_t steps = 0;  // steps taken
};

}  // namespace vdlab
