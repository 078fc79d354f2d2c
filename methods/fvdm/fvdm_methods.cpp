#include "methods/fvdm/fvdm_methods.h"

#include <ATen/ATen.h>

#include <memory>

#include "core/error.h"
#include "methods/fvdm/long_video.h"
#include "methods/fvdm/pinned_fidelity.h"
#include "methods/method.h"
#include "methods/pipeline/pipeline.h"
#include "methods/pipeline/start_point.h"

namespace vdlab {

FrameSchedule fvdm_task_schedule(const std::string& task, const std::vector<double>& timesteps, int64_t frames,
                                 double c) {
  if (task == "standard") return standard_schedule(timesteps, frames);
  if (task == "image-to-video") return image_to_video_schedule(timesteps, frames);
  if (task == "interpolation") return interpolation_schedule(timesteps, frames);
  if (task == "progressive") return progressive_schedule(timesteps, frames, c);
  throw Error("fvdm: no per-frame table for the task '" + task + "'");
}

namespace {

struct TaskSettings {
  std::string task;
  double c = 0.1;          // progressive
  int64_t length = 0;      // long video: frames of the assembled video
  int64_t context = 0;     // long video: M (0: half the chunk)
  std::string path;        // the variant's field path, for errors
};

class FvdmMethod : public Method {
 public:
  FvdmMethod(PipelineParts parts, TaskSettings settings) : parts_(std::move(parts)), settings_(std::move(settings)) {}

  GenerateResult generate(Backbone& backbone, const GenerateRequest& request) override {
    GenerationPipeline pipeline(parts_);
    const TaskSettings s = settings_;
    const int64_t frames = request.frames;
    Json stats = {{"task", s.task}};
    auto overlaps = std::make_shared<std::vector<OverlapCheck>>();
    if (s.task == "image-to-video" || s.task == "interpolation") {
      pipeline.prepare = [s, frames](BatchJob& job) {
        job.clean = job.reference_clips();
        job.use_schedule(fvdm_task_schedule(s.task, job.timesteps, frames));
      };
    } else if (s.task == "progressive") {
      pipeline.prepare = [s, frames](BatchJob& job) {
        // The given image is every frame's clean estimate: frame i starts as that image noised to its own
        // first timestep tau_i(t_0), as the forward process would have it; frame 0 stays the image.
        const at::Tensor reference = job.reference_clips();
        job.clean = reference.narrow(2, 0, 1).expand_as(reference).contiguous();
        job.use_schedule(fvdm_task_schedule(s.task, job.timesteps, frames, s.c));
        job.start_latent = add_noise(job.schedule, job.clean, job.noise, job.step_timesteps(0));
      };
    } else if (s.task == "long-video") {
      const LongVideoPlan plan =
          LongVideoPlan::make(frames, s.context > 0 ? s.context : frames / 2, s.length, s.path);
      const NoiseInitPtr noise = parts_.noise;
      const uint64_t seed = request.seed;
      pipeline.run_batch = [plan, noise, seed, overlaps](BatchJob& job, const BatchRunner& run) {
        const std::vector<at::Tensor> chunks = run_long_video_chunks(job, run, plan, *noise, seed);
        overlaps->push_back(check_overlaps(chunks, plan));
        return assemble_long_video(chunks, plan);
      };
      stats.update({{"length", plan.length}, {"chunk_frames", plan.frames}, {"context", plan.context},
                    {"chunks", plan.chunks()}});
    }
    GenerateResult result = pipeline.generate(backbone, request);

    if (s.task == "long-video") {
      OverlapCheck all;
      int64_t equal = 0;
      for (const auto& o : *overlaps) {
        all.max_abs_diff = std::max(all.max_abs_diff, o.max_abs_diff);
        equal += int64_t(std::llround(o.equal_share * double(o.frames_checked)));
        all.frames_checked += o.frames_checked;
      }
      stats.update({{"overlap_max_abs_diff", all.max_abs_diff},
                    {"overlap_equal_share", all.frames_checked > 0 ? double(equal) / double(all.frames_checked) : 1.0},
                    {"overlap_frames_checked", all.frames_checked}});
    } else if (s.task != "standard") {
      const NoiseSchedule schedule = NoiseSchedule::from_config(backbone.schedule(), "backbone.schedule");
      const FrameSchedule table = fvdm_task_schedule(s.task, parts_.sampler->timesteps(schedule), frames, s.c);
      stats.update(pinned_fidelity(result.videos, request.references, table.pinned).to_json());
    }
    result.stats["fvdm"] = stats;
    return result;
  }

 private:
  PipelineParts parts_;
  TaskSettings settings_;
};

// DDIM with 50 steps: the source's inference for every task.
const Json& fvdm_sampler_default() {
  static const Json d = {{"name", "ddim"}, {"steps", 50}};
  return d;
}

void add_task(MethodRegistry& r, const std::string& task, const std::string& description, ParamSpecs extra) {
  ParamSpecs specs = pipeline_param_specs(fvdm_sampler_default(), Json{{"name", "iid"}});
  for (auto& spec : extra) specs.push_back(std::move(spec));
  r.add({"fvdm-" + task, description, specs, [task](const Params& p) -> MethodPtr {
           TaskSettings s;
           s.task = task;
           s.path = p.path();
           if (task == "progressive") {
             s.c = p.get<double>("c");
             if (!(s.c > 0)) p.fail("c", "must be positive, got " + p.at("c").dump());
           }
           if (task == "long-video") {
             s.length = p.get<int64_t>("length");
             s.context = p.get<int64_t>("context");
             if (s.context < 0) p.fail("context", "must be 0 (half the chunk) or more, got " + std::to_string(s.context));
             if (s.length < 2) p.fail("length", "must be at least 2 frames, got " + std::to_string(s.length));
           }
           return std::make_shared<FvdmMethod>(pipeline_parts(p), s);
         }});
}

}  // namespace

void register_fvdm_methods() {
  static bool done = false;
  if (done) return;
  done = true;
  MethodRegistry& r = method_registry();
  add_task(r, "standard", "FVDM standard generation: every frame at the sampler's timestep [t, ..., t]", {});
  add_task(r, "image-to-video", "FVDM image-to-video: the reference clip's first frame pinned at t = 0, [0, t, ..., t]",
           {});
  add_task(r, "interpolation",
           "FVDM interpolation: the reference clip's first and last frames pinned at t = 0, [0, t, ..., t, 0]", {});
  add_task(r, "progressive",
           "FVDM progressive image-to-video: tau_i(t) = min(c i t, t), frame 0 pinned from the reference clip",
           {{"c", 0.1, "the slope c of tau_i(t) = min(c i t, t) (the source's example: 0.1)", {}, {}}});
  add_task(r, "long-video",
           "FVDM long video: chunks of the split's F frames, each conditioned on the last M frames of the previous one",
           {{"length", 64, "frames of each generated video (any length of at least one chunk)", {}, {}},
            {"context", 0, "M: frames each chunk takes from the previous one (0: half the chunk)", {}, {}}});
}

}  // namespace vdlab
