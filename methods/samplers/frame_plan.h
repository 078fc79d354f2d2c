#pragma once
// Timestep spacing (METHODS.md 1.1) and the per-frame plan every sampler steps through.
//
// Timesteps are per frame: a plan holds, for every step, one timestep per (video, frame). A sampler
// with one schedule for all frames fills every frame with it; SampleContext::frame_timesteps gives each
// frame its own. Per-frame coefficients are computed in double, one frame at a time, and become
// [B, 1, F, 1, 1] tensors in the sample's dtype, so a plan with equal frames runs exactly the
// arithmetic of the scalar schedule.
#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "methods/samplers/sample_context.h"

namespace vdlab {

// UniPC and DPM-Solver: N of N + 1 evenly placed points (linspace | leading | trailing), descending.
std::vector<double> multistep_timesteps(int64_t num_train, int64_t steps, const std::string& spacing, int64_t offset);
// DDIM and DDPM: N points, descending.
std::vector<double> ddim_timesteps(int64_t num_train, int64_t steps, const std::string& spacing, int64_t offset);
// Euler: N points, fractional for linspace (float32, as the reference keeps them).
std::vector<double> euler_timesteps(int64_t num_train, int64_t steps, const std::string& spacing, int64_t offset);

// The VE sigma table sqrt((1 - ac) / ac) over the training timesteps.
std::vector<double> sigma_table(const NoiseSchedule& schedule);
// Linear interpolation of a table on the integer grid 0..T-1 (np.interp, clamped at the ends).
double interpolate(const std::vector<double>& table, double t);
// Karras et al. sigmas: (max^(1/rho) + ramp (min^(1/rho) - max^(1/rho)))^rho, ramp = linspace(0, 1, n).
std::vector<double> karras_sigmas(double sigma_max, double sigma_min, int64_t n, double rho = 7.0);
// The fractional training timestep of a sigma, by interpolation in log sigma.
double sigma_to_timestep(double sigma, const std::vector<double>& log_sigmas);

// Karras sigmas for the multistep solvers (DPM-Solver++, UniPC), as diffusers' use_karras_sigmas: N sigmas
// from the largest to the smallest training sigma (the whole table, whatever the spacing), and the model
// timestep of each by log-sigma interpolation. The reference rounds those timesteps to integers, except
// under the cosine schedule where it keeps them unrounded and then casts them to int64 (truncation).
// The solver steps on the Karras sigmas themselves, not on sigmas read back from the timesteps.
struct KarrasSchedule {
  std::vector<double> timesteps, sigmas;  // both N long, descending
};
KarrasSchedule multistep_karras_schedule(const NoiseSchedule& schedule, int64_t steps);

struct FramePlan {
  int64_t batch = 0, frames = 0;
  std::vector<std::vector<double>> timesteps;  // [N][B * F], frame index b * F + f
  std::vector<uint8_t> pinned;                 // [B * F]
  bool any_pinned = false;
  // held[i][k]: frame k keeps its timestep across step i (asynchronous per-frame tables), so step i is a
  // masked no-op for it: its value comes back bitwise, and no coefficient divides by its h = 0.
  std::vector<std::vector<uint8_t>> held;  // [N][B * F]
  bool any_held = false;
  int64_t start = 0, stop = 0;  // the steps to run, [start, stop)

  bool is_held(int64_t i, size_t k) const { return any_held && held[static_cast<size_t>(i)][k] != 0; }

  int64_t steps() const { return static_cast<int64_t>(timesteps.size()); }
  int64_t size() const { return batch * frames; }
  // The per-frame index (b F + f) of row r of a contiguous [B, C, F, H, W] tensor, whose rows are the
  // H x W planes of (b, c, f): what the row loops read per-frame coefficients with.
  size_t frame_of_row(int64_t r, int64_t channels) const {
    return static_cast<size_t>((r / (channels * frames)) * frames + r % frames);
  }
  // [B, F] model timesteps of step i in like's dtype and device; pinned frames get 0.
  at::Tensor timestep_tensor(int64_t i, const at::Tensor& like) const;
  // [B, 1, F, 1, 1] per-frame values in like's dtype and device.
  at::Tensor frame_values(const std::vector<double>& values, const at::Tensor& like) const;
  // Several per-frame vectors at once, one conversion for all (the per-step cost of small tensors
  // adds up): views of one [n, B * F] tensor, each shaped [B, 1, F, 1, 1].
  std::vector<at::Tensor> frame_values_many(const std::vector<const std::vector<double>*>& values,
                                            const at::Tensor& like) const;
  // sum_j coefs[j][frame] * terms[j] in one pass over memory: the per-step update of a multistep
  // solver, with per-frame coefficients (computed in double, applied in the terms' dtype). Terms are
  // [B, C, F, H, W] of one dtype; the first term's order of operations is c_0 t_0 + c_1 t_1 + ..., each
  // product rounded, then added, as the equivalent sequence of tensor operations would do.
  at::Tensor combine(const std::vector<const at::Tensor*>& terms,
                     const std::vector<const std::vector<double>*>& coefs) const;
  // Two combinations in one pass, for a corrector whose result the predictor reads at once:
  //   first  = sum_j coefs[j][frame] * terms[j]
  //   second = then_coefs[0][frame] * first + sum_j then_coefs[j + 1][frame] * terms[then_terms[j]]
  // bitwise what combine(terms, coefs) and then combine({&first, terms[then_terms[0]], ...}, then_coefs)
  // give, with each row of the terms read once for both (they stay in cache between the two).
  std::pair<at::Tensor, at::Tensor> combine_twice(const std::vector<const at::Tensor*>& terms,
                                                  const std::vector<const std::vector<double>*>& coefs,
                                                  const std::vector<size_t>& then_terms,
                                                  const std::vector<const std::vector<double>*>& then_coefs) const;
  // x with its pinned frames replaced by those of `given` (bitwise); x itself when nothing is pinned.
  at::Tensor restore_pinned(const at::Tensor& given, const at::Tensor& x) const;
  // x with the frames held at step i replaced by those of `before` (bitwise); x itself when none is.
  at::Tensor restore_held(int64_t i, const at::Tensor& before, const at::Tensor& x) const;
};

// The plan for a [B, C, F, H, W] sample: `timesteps` for every frame, or the context's per-frame table
// (checked: shape [N, B, F] with N == timesteps.size(), and no unpinned frame's timestep increasing from
// one step to the next; the error names the video, frame and step), and the context's range of steps.
// `final_timestep` is the timestep the point after the last step stands for (0 when the final sigma is
// the smallest training sigma, -1 when it is 0): a frame at that timestep in the last row is held there.
// Throws ConfigError on a mismatch.
FramePlan make_frame_plan(const std::vector<double>& timesteps, const SampleContext& ctx, const at::Tensor& x,
                          const std::string& sampler, double final_timestep = -1.0);
// The final_timestep of a final-sigma option ("zero" or "sigma_min").
inline double final_timestep_of(const std::string& final_sigma) { return final_sigma == "sigma_min" ? 0.0 : -1.0; }

// A small dense solve (Gaussian elimination with partial pivoting), row-major n x n.
std::vector<double> solve_linear(std::vector<double> a, std::vector<double> b, int64_t n);

// VP alpha and sigma of a VE sigma: alpha = 1 / sqrt(s^2 + 1), sigma = s alpha.
inline double vp_alpha(double s) { return 1.0 / std::sqrt(s * s + 1.0); }
inline double vp_sigma(double s) { return s * vp_alpha(s); }
// lambda = log(alpha_t / sigma_t) of the VP view: the "time" DPM-Solver++ and UniPC step in.
inline double log_snr(double s) { return std::log(vp_alpha(s)) - std::log(vp_sigma(s)); }

// The VE sigma of every point of the plan, per frame: rows 0..n-1 the steps' timesteps (interpolated in
// the schedule's table), or step_sigmas[i] for every frame when given (Karras sigmas); row n the final
// sigma ("zero" or "sigma_min", the smallest training sigma).
std::vector<std::vector<double>> frame_sigmas(const FramePlan& plan, const NoiseSchedule& schedule,
                                              const std::string& final_sigma,
                                              const std::vector<double>* step_sigmas = nullptr);

}  // namespace vdlab
