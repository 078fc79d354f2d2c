#pragma once
// A sampler: a pure function from initial noise to a sample, over a Denoise callback (DESIGN.md,
// "Interfaces"). Schedule, parameterisation, sampler, noise init and step hooks are separate axes: the
// schedule and parameterisation arrive in the SampleContext, the noise as the input tensor, the hooks
// as a list; the sampler holds only its own options. All arithmetic on the sample runs in its dtype
// (float64 in the oracle tests, float32 in production); per-step coefficients are computed in double.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "methods/samplers/frame_plan.h"
#include "methods/samplers/sample_context.h"

namespace vdlab {

class Sampler {
 public:
  virtual ~Sampler();
  // noise: the initial draw, [B, C, F, H, W], unit variance (pinned frames hold their clean values).
  // Returns the sample at the final sigma, shaped like noise. Counts denoise calls in stats.
  virtual at::Tensor sample(const Denoise& denoise, const at::Tensor& noise, const SampleContext& ctx,
                            SampleStats& stats) const = 0;
  // The model timesteps of each step for the given schedule (the same for every frame).
  virtual std::vector<double> timesteps(const NoiseSchedule& schedule) const = 0;
  // The resolved options, with "name", for provenance.
  virtual Json describe() const = 0;
};

using SamplerPtr = std::shared_ptr<const Sampler>;
using SamplerRegistry = Registry<SamplerPtr>;

SamplerRegistry& sampler_registry();
// Registers ddpm, ddim, euler, dpmsolver++ and unipc. Safe to call more than once.
void register_builtin_samplers();

// Options every sampler shares: steps and spacing, the final sigma, dynamic thresholding.
struct CommonOptions {
  int64_t steps = 20;
  std::string spacing = "linspace";
  int64_t steps_offset = 0;
  std::string final_sigma = "zero";  // zero | sigma_min
  bool thresholding = false;
  double threshold_ratio = 0.995, sample_max = 1.0;

  static CommonOptions from(const Params& p);
  // The shared parameter specs with this sampler's defaults for spacing and the final sigma.
  static ParamSpecs specs(const std::string& spacing, const std::string& final_sigma, int64_t steps = 20);
};

// The bookkeeping every sampler loop shares: hooks around each denoise call, corrector and step, NFE,
// the noise of stochastic steps, pinned frames restored bitwise, frames held by a per-frame table kept
// bitwise through the step, and the post-step history hooks asked for. A sampler runs the steps
// [plan.start, plan.stop).
class StepDriver {
 public:
  StepDriver(const Denoise& denoise, const SampleContext& ctx, SampleStats& stats, const FramePlan& plan,
             const at::Tensor& given);
  // Runs before_denoise hooks on the model input and calls the network with step i's timesteps. The
  // model input is x, or x / input_scale when given (Euler's VE sample). A hook's edit of the input
  // becomes x itself (rescaled), so the step and its conversions proceed from the edited sample.
  at::Tensor denoise(at::Tensor& x, int64_t step, const at::Tensor* input_scale = nullptr);
  // A corrector's result at the start of step i (the previous step recomputed): frames held through the
  // previous step keep `uncorrected`, pinned frames are restored, after_corrector hooks run, and the result
  // becomes the sample step i proceeds from. Returns the (possibly edited) sample.
  at::Tensor after_corrector(const at::Tensor& corrected, const at::Tensor& uncorrected, int64_t step);
  // Restores pinned and held frames, runs after_step hooks, records history. Returns the (possibly edited) sample.
  at::Tensor finish_step(const at::Tensor& x, int64_t step, const std::vector<at::Tensor>* model_history = nullptr);
  // Whether the hooks left UniPC's corrector on for the next step.
  bool corrector_next() const { return corrector_next_; }
  // The Gaussian draw of a stochastic step.
  at::Tensor noise(int64_t step, const at::Tensor& like);
  const FramePlan& plan() const { return plan_; }

 private:
  StepView view_of(int64_t step, const at::Tensor& sample, const at::Tensor& timesteps) const;

  const Denoise& denoise_;
  const SampleContext& ctx_;
  SampleStats& stats_;
  const FramePlan& plan_;
  at::Tensor given_;
  at::Tensor step_base_;  // the sample the current step proceeds from (held frames come back as this)
  std::deque<at::Tensor> history_;
  int64_t history_length_ = 0;
  bool corrector_next_ = true;
};

// The sampler's own timesteps, or placeholders for `steps` steps when the context gives per-frame
// timesteps (which may then be fractional and more than T).
std::vector<double> listed_timesteps(const Sampler& sampler, const SampleContext& ctx, int64_t steps);

// Registration of each built-in sampler (one file each).
void register_ddpm(SamplerRegistry& registry);
void register_ddim(SamplerRegistry& registry);
void register_euler(SamplerRegistry& registry);
void register_dpm_solver(SamplerRegistry& registry);
void register_unipc(SamplerRegistry& registry);

}  // namespace vdlab
