#include "methods/pipeline/pipeline.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "methods/hooks/hook_registry.h"
#include "methods/pipeline/start_point.h"
#include "methods/samplers/guidance.h"
#include "methods/video_tensor.h"

namespace vdlab {

at::Tensor BatchJob::reference_clips() const {
  if (request == nullptr || static_cast<int64_t>(request->references.size()) < begin + size)
    throw ConfigError("this method needs one reference clip per generated video");
  std::vector<Video> videos;
  for (int64_t i = begin; i < begin + size; ++i) videos.push_back(request->references[static_cast<size_t>(i)].video);
  at::Tensor out = videos_to_tensor(videos);
  if (noise.defined()) {
    if (out.size(1) != noise.size(1))
      throw ConfigError("reference clips are RGB; this backbone denoises " + std::to_string(noise.size(1)) +
                        " channels (no encoder between them)");
    if (!out.sizes().equals(noise.sizes()))
      throw ConfigError("reference clips do not have the generated videos' frames and size");
    out = out.to(noise.device());
  }
  return out;
}

void BatchJob::use_schedule(const FrameSchedule& s) {
  const int64_t n = s.timesteps.size(0), f = s.timesteps.size(1);
  frame_timesteps = s.timesteps.to(at::kDouble).unsqueeze(1).expand({n, size, f}).contiguous();
  std::vector<uint8_t> mask(s.pinned);
  pinned = at::from_blob(mask.data(), {1, f}, at::TensorOptions().dtype(at::kByte)).to(at::kBool).expand({size, f}).contiguous();
}

void BatchJob::start_at_timestep(double t) {
  if (!frame_timesteps.defined()) {
    start_step = start_step_at(timesteps, t);
    return;
  }
  // Per-frame tables: a step's timestep is its largest over the frames that are generated.
  at::Tensor table = frame_timesteps.to(at::kCPU).to(at::kDouble);
  if (pinned.defined()) table = table.masked_fill(pinned.to(at::kCPU).to(at::kBool).unsqueeze(0), -1.0);
  const at::Tensor top = table.flatten(1).amax(1).contiguous();
  start_step = start_step_at(std::vector<double>(top.data_ptr<double>(), top.data_ptr<double>() + top.numel()), t);
}

at::Tensor BatchJob::step_timesteps(int64_t i) const {
  if (frame_timesteps.defined()) return frame_timesteps.select(0, i).to(at::kDouble);
  return at::full({size, noise.size(2)}, timesteps.at(static_cast<size_t>(i)), at::kDouble);
}

ParamSpecs pipeline_param_specs(Json sampler_default, Json noise_default) {
  register_builtin_samplers();
  register_builtin_noise();
  register_builtin_hooks();
  return {
      sampler_registry().nested_param("sampler", std::move(sampler_default), "the sampler and its options"),
      noise_registry().nested_param("noise", std::move(noise_default), "initial noise"),
      {"cfg_scale", 1.0, "classifier-free guidance scale (1 = no guidance)", {}, {}},
      hook_registry().nested_list_param("hooks", "step hooks by name with their parameters (vdlab list hooks)"),
  };
}

PipelineParts pipeline_parts(const Params& p) {
  PipelineParts parts;
  parts.sampler = sampler_registry().make_resolved(p.at("sampler"), p.field("sampler"));
  parts.noise = noise_registry().make_resolved(p.at("noise"), p.field("noise"));
  parts.cfg_scale = p.get<double>("cfg_scale");
  parts.hooks = p.at("hooks");
  // Built once here so a bad hook parameter is refused with the method, not at the first batch.
  for (size_t i = 0; i < parts.hooks.size(); ++i)
    hook_registry().make_resolved(parts.hooks[i], p.field("hooks") + "[" + std::to_string(i) + "]");
  return parts;
}

GenerationPipeline::GenerationPipeline(PipelineParts parts) : parts_(std::move(parts)) {
  if (!parts_.sampler || !parts_.noise) throw Error("a generation pipeline needs a sampler and a noise init");
}

GenerateResult GenerationPipeline::generate(Backbone& backbone, const GenerateRequest& req) const {
  if (req.count < 1) throw ConfigError("generate: count must be at least 1");
  if (!req.labels.empty() && static_cast<int64_t>(req.labels.size()) != req.count)
    throw ConfigError("generate: labels must be one per video");
  SampleContext base;
  base.schedule = NoiseSchedule::from_config(backbone.schedule(), "backbone.schedule");
  base.prediction = backbone.prediction();
  // One generator per cell: the noise and every stochastic step follow from the seed alone.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(req.seed);
  base.generator = gen;
  std::vector<StepHookPtr> hook_list;
  for (size_t i = 0; i < parts_.hooks.size(); ++i)
    hook_list.push_back(hook_registry().make_resolved(parts_.hooks[i], "hooks[" + std::to_string(i) + "]"));
  const StepHooks hooks(hook_list);
  if (!hooks.empty()) base.hooks = &hooks;
  const std::vector<double> timesteps = parts_.sampler->timesteps(base.schedule);

  DenoiseCounter counter;
  SampleStats stats;
  const BatchRunner runner = [&](const BatchJob& job) -> at::Tensor {
    SampleContext ctx = base;
    ctx.frame_timesteps = job.frame_timesteps;
    ctx.pinned = job.pinned;
    ctx.start_step = job.start_step;
    ctx.stop_step = job.stop_step;
    std::vector<StepHookPtr> run_hooks = hook_list;
    run_hooks.insert(run_hooks.end(), job.hooks.begin(), job.hooks.end());
    const StepHooks job_hooks(run_hooks);
    if (!job.hooks.empty()) ctx.hooks = &job_hooks;
    at::Tensor x = job.start_latent.defined() ? job.start_latent : job.noise;
    if (!job.start_latent.defined() && job.start_step > 0 && job.clean.defined())
      x = add_noise(base.schedule, job.clean, job.noise, job.step_timesteps(job.start_step).to(job.noise.device()));
    if (job.pinned.defined() && job.pinned.to(at::kBool).any().item<bool>()) {
      if (!job.clean.defined()) throw ConfigError("pinned frames need clean latents (a reference clip) to hold");
      const at::Tensor m = job.pinned.to(at::kBool).to(x.device()).view({job.size, 1, x.size(2), 1, 1});
      x = at::where(m, job.clean.to(x.options()), x);
    }
    const Denoise denoise = guided_denoise(backbone, job.cond, job.cfg_scale, &counter);
    return parts_.sampler->sample(denoise, x, ctx, stats);
  };

  const at::Device device(req.device);
  const int64_t batch = std::max<int64_t>(1, req.batch_size);
  std::vector<at::Tensor> videos;
  for (int64_t start = 0; start < req.count; start += batch) {
    BatchJob job;
    job.request = &req;
    job.begin = start;
    job.size = std::min(batch, req.count - start);
    job.timesteps = timesteps;
    job.schedule = base.schedule;
    job.cfg_scale = parts_.cfg_scale;
    job.noise = parts_.noise->draw({job.size, backbone.channels(), req.frames, req.height, req.width}, gen, at::kFloat)
                    .to(device);
    if (!req.labels.empty())
      job.cond.labels = at::tensor(std::vector<int64_t>(req.labels.begin() + start, req.labels.begin() + start + job.size),
                                   at::kLong)
                            .to(device);
    if (!req.captions.empty())
      job.cond.captions.assign(req.captions.begin() + start, req.captions.begin() + start + job.size);
    if (prepare) prepare(job);
    const at::Tensor out = run_batch ? run_batch(job, runner) : runner(job);
    videos.push_back(out.to(at::kCPU).to(at::kFloat));
  }
  GenerateResult result;
  result.videos = at::cat(videos);
  result.nfe = counter.calls / ((req.count + batch - 1) / batch);
  result.stats = {{"sampler", parts_.sampler->describe()},
                  {"denoise_calls", counter.calls},
                  {"backbone_forwards", counter.forwards},
                  {"cfg_scale", parts_.cfg_scale}};
  if (!hooks.empty()) {
    Json measured = Json::array();
    for (size_t i = 0; i < hook_list.size(); ++i) {
      Json entry = {{"name", parts_.hooks[i].at("name")}};
      const Json s = hook_list[i]->stats();
      if (s.is_object()) entry.update(s);
      else if (!s.is_null()) entry["value"] = s;
      measured.push_back(std::move(entry));
    }
    result.stats["hooks"] = std::move(measured);
  }
  return result;
}

}  // namespace vdlab
