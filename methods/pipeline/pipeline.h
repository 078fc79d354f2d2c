#pragma once
// The one generation pipeline every method composes (DESIGN.md "Interfaces"):
//
//   noise init -> conditioning and classifier-free guidance -> sampler over the denoise callback, with
//   step hooks, per-frame timestep tables, pinned frames and a start point -> videos, NFE, measurements.
//
// A method supplies parts (sampler, noise init, guidance scale, hooks by name) and, where it needs more,
// one of two functions; it never copies the loop:
// - `prepare` shapes each batch's job before it runs: per-frame tables and pinned frames from reference
//   clips (FVDM), a start latent or start step (VMC's inverted latent, img2img), extra conditioning
//   (a motion score per video);
// - `run_batch` replaces the single sampler run of a batch by several runs of the same runner, e.g. a
//   shared trajectory stopped at a switch step and resumed per frame (Dr.Mo).
// Randomness: one generator per cell (the request's seed) draws each batch's noise, then the batch's
// stochastic steps, batch after batch, so a cell's videos follow from its seed alone.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "core/params.h"
#include "methods/method.h"
#include "methods/noise/noise_init.h"
#include "methods/pipeline/frame_schedules.h"
#include "methods/samplers/sampler.h"

namespace vdlab {

// One sampler run over the videos [begin, begin + size) of a request. Every field but `request`,
// `begin`, `size` and `timesteps` may be changed by a method's `prepare` or `run_batch`.
struct BatchJob {
  const GenerateRequest* request = nullptr;
  int64_t begin = 0, size = 0;
  std::vector<double> timesteps;  // the sampler's own timesteps for the backbone's schedule, per step
  NoiseSchedule schedule;         // the backbone's training schedule
  at::Tensor noise;               // [b, C, F, H, W] float32 on the request's device: the noise init's draw
  Conditioning cond;              // the batch's labels and captions (a method may add to it)
  double cfg_scale = 1.0;         // classifier-free guidance scale (1 = none)
  at::Tensor clean;               // optional [b, C, F, H, W]: clean latents for pinned frames and add_noise
  at::Tensor pinned;              // optional [b, F] bool: frames held bitwise at `clean` (t = 0 for the model)
  at::Tensor frame_timesteps;     // optional [N, b, F] float64: a timestep per frame and step
  int64_t start_step = 0;         // first step to run (0-based)
  int64_t stop_step = -1;         // one past the last step to run; -1 = every step
  // Optional: the sample at start_step. Undefined: the noise at step 0, or add_noise(clean, noise) at the
  // start step's timesteps when a later start has clean latents. Pinned frames take `clean` either way.
  at::Tensor start_latent;
  // Hooks of this run only, after the pipeline's own (e.g. a recorder of the shared trajectory's
  // per-step latents); their measurements are the method's to report.
  std::vector<StepHookPtr> hooks;

  // The batch's reference clips as [b, 3, F, H, W] float32 in [-1, 1] on the noise's device (pixel-space
  // backbones; the request's references are one per video).
  at::Tensor reference_clips() const;
  // Per-frame timesteps and pinned frames from a schedule built for one video, the same for each video.
  void use_schedule(const FrameSchedule& schedule);
  // Start at the first step whose timestep (per-frame: the largest over unpinned frames) is at most t.
  void start_at_timestep(double t);
  // The timesteps [b, F] of step i: the per-frame table's row, or the sampler's timestep for every frame.
  at::Tensor step_timesteps(int64_t i) const;
};

// Runs one job: guided denoise over the backbone, the sampler with the pipeline's hooks. Returns the
// sample after the job's last step, shaped like its noise, on its device.
using BatchRunner = std::function<at::Tensor(const BatchJob& job)>;

// What every pipeline method is made of.
struct PipelineParts {
  SamplerPtr sampler;
  NoiseInitPtr noise;
  double cfg_scale = 1.0;
  Json hooks = Json::array();  // resolved hook configs ({name, params}); built afresh for each generate call
};

// The parameters every pipeline method shares: sampler, noise, cfg_scale and hooks.
ParamSpecs pipeline_param_specs(Json sampler_default, Json noise_default);
// The parts those parameters name.
PipelineParts pipeline_parts(const Params& params);

class GenerationPipeline {
 public:
  explicit GenerationPipeline(PipelineParts parts);

  std::function<void(BatchJob& job)> prepare;                                         // optional
  std::function<at::Tensor(BatchJob& job, const BatchRunner& run)> run_batch;         // optional

  // videos [N, C, F, H, W] float32 on the CPU; nfe = denoise calls per batch; stats: the sampler, calls,
  // forwards, the guidance scale and, under "hooks", each hook's name and measurements.
  GenerateResult generate(Backbone& backbone, const GenerateRequest& request) const;

  const PipelineParts& parts() const { return parts_; }

 private:
  PipelineParts parts_;
};

// A method that is its pipeline (uniform, correlated-noise, and most methods once their parts exist).
class PipelineMethod : public Method {
 public:
  explicit PipelineMethod(GenerationPipeline pipeline) : pipeline_(std::move(pipeline)) {}
  GenerateResult generate(Backbone& backbone, const GenerateRequest& request) override {
    return pipeline_.generate(backbone, request);
  }

 private:
  GenerationPipeline pipeline_;
};

}  // namespace vdlab
