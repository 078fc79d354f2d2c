#pragma once
// Where Dr.Mo switches from motion-based propagation to denoising (the switch point t*).
//
// The source counts timesteps t = 1..T with t = 1 the last step; a backbone's model timesteps run
// 0..T-1, so the source's t is the model timestep + 1 (t* = 1000 is the first step of a 1000-step
// schedule, t* = 1 the last).
#include <cstdint>
#include <vector>

namespace vdlab {

// The first step whose source timestep (model timestep + 1) is at most t_star: the step from which
// every frame is denoised. 0 means no reuse (t* at or above the first step). ConfigError when t_star
// lies below every step.
int64_t fixed_switch_step(const std::vector<double>& model_timesteps, double t_star);

// The DSS rule t* = argmin_t log(beta t) e_t over the steps (t the source timestep of the step, e_t its
// transformation error); non-finite errors are skipped. beta t must exceed 1 at every step for the
// weight to be positive (beta > 1 when the last model timestep is 0). Returns the step index.
int64_t rule_switch_step(const std::vector<double>& model_timesteps, const std::vector<double>& errors, double beta);

}  // namespace vdlab
