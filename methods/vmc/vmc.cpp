// VMC, video motion customization (seed 003, METHODS.md 5): per source clip, a clone of the backbone is tuned
// on that clip's motion (methods/vmc/motion_tuning.h), then renders a target caption that changes the
// appearance and keeps the motion, from the DDIM inversion of the source clip (noise ddim-inversion, done
// with the backbone before tuning, as VMC inverts the input video with the pre-trained model) or from fresh
// noise (noise iid). tune_steps 0 is the untuned model with the same captions and start: VMC's baseline.
//
// Each generated video i has its own source clip (the request's reference i), its own seeds (tuning draws
// and noise, both from the cell's seed and i) and, when tuned, its own clone; the cached backbone is only
// read. The cell's stats hold the tuning time and loss curves under "vmc", and the captions it reports for
// its videos are the target captions (text alignment is measured against them).
#include "methods/vmc/vmc.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <memory>

#include "core/error.h"
#include "methods/method.h"
#include "methods/noise/ddim_inversion.h"
#include "methods/pipeline/pipeline.h"
#include "methods/samplers/guidance.h"
#include "methods/vmc/motion_tuning.h"
#include "methods/vmc/prompts.h"
#include "methods/video_tensor.h"

namespace vdlab {

namespace {

struct VmcOptions {
  MotionTuningOptions tuning;
  std::string tune_prompt;     // appearance-invariant | source
  std::string target;          // appearance-changed | source
  int colour_shift = 1, shape_shift = 1;
};

// Seeds of video i of a cell: independent streams for its tuning and for its noise.
uint64_t video_seed(uint64_t cell_seed, int64_t i, uint64_t stream) {
  uint64_t z = cell_seed * 0x9E3779B97F4A7C15ULL + uint64_t(i) * 0xBF58476D1CE4E5B9ULL + stream;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return end > begin ? s / double(end - begin) : 0.0;
}

class VmcMethod : public Method {
 public:
  VmcMethod(PipelineParts parts, VmcOptions options) : parts_(std::move(parts)), o_(std::move(options)) {
    inversion_ = std::dynamic_pointer_cast<const DdimInversionNoise>(parts_.noise);
    // The pipeline draws i.i.d. noise per batch; with ddim-inversion the inverted latent replaces it.
    if (inversion_) parts_.noise = noise_registry().make("iid", Json::object(), "noise");
  }

  GenerateResult generate(Backbone& backbone, const GenerateRequest& req) override {
    if (static_cast<int64_t>(req.references.size()) < req.count)
      throw ConfigError("vmc needs one source clip per generated video (the split's clips)");
    std::vector<at::Tensor> videos;
    std::vector<std::string> sources, tune_prompts, targets;
    Json curves = Json::array(), seconds = Json::array();
    std::vector<double> reconstruction;  // per clip, with inversion
    double tune_total = 0;
    int64_t inversion_calls = 0, trainable_values = 0, nfe = 0;
    Json pipeline_stats;
    for (int64_t i = 0; i < req.count; ++i) {
      const Clip& source = req.references[static_cast<size_t>(i)];
      const std::string target =
          o_.target == "source" ? source.caption : appearance_changed_caption(source.caption, o_.colour_shift, o_.shape_shift);
      const std::string prompt = o_.tune_prompt == "source" ? source.caption : appearance_invariant_prompt(source.caption);
      sources.push_back(source.caption);
      tune_prompts.push_back(prompt);
      targets.push_back(target);
      at::Tensor label;
      if (!req.labels.empty()) label = at::tensor({req.labels[static_cast<size_t>(i)]}, at::kLong).to(at::Device(req.device));

      // One-shot tuning on a clone.
      Backbone* renderer = &backbone;
      BackbonePtr tuned;
      if (o_.tuning.steps > 0) {
        at::Tensor clip = video_to_tensor(source.video).unsqueeze(0).to(at::Device(req.device));
        if (clip.size(1) != backbone.channels())
          throw ConfigError("vmc: source clips are RGB; this backbone denoises " + std::to_string(backbone.channels()) +
                            " channels (no encoder between them)");
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(video_seed(req.seed, i, 1));
        MotionTuningResult r = tune_motion(backbone, clip, Conditioning{label, {prompt}}, o_.tuning, gen);
        tuned = r.tuned;
        renderer = tuned.get();
        tune_total += r.seconds;
        seconds.push_back(r.seconds);
        curves.push_back(r.loss_curve);
        trainable_values = r.trainable_values;
      }

      // Generation of the target caption from the inverted source or fresh noise.
      GenerateRequest one;
      one.count = 1;
      one.frames = req.frames;
      one.height = req.height;
      one.width = req.width;
      one.batch_size = 1;
      if (!req.labels.empty()) one.labels = {req.labels[static_cast<size_t>(i)]};
      one.captions = {target};
      one.references = {source};
      one.seed = video_seed(req.seed, i, 2);
      one.device = req.device;
      GenerationPipeline pipeline(parts_);
      at::Tensor latent;
      if (inversion_) {
        pipeline.prepare = [&](BatchJob& job) {
          at::NoGradGuard no_grad;
          const Denoise denoise = guided_denoise(backbone, Conditioning{job.cond.labels, {source.caption}}, 1.0);
          const InversionResult inv =
              inversion_->invert(denoise, job.reference_clips(), job.schedule, job.timesteps, backbone.prediction());
          inversion_calls += inv.model_calls;
          latent = inv.latent.to(job.noise.options());
          job.start_latent = latent;
        };
      }
      at::NoGradGuard no_grad;
      GenerateResult g = pipeline.generate(*renderer, one);
      videos.push_back(g.videos);
      if (inversion_) {
        // How well the untuned backbone's sampler comes back to the source from the inverted latent: the
        // inversion's own error, apart from what tuning and the target caption change.
        GenerationPipeline back(parts_);
        back.prepare = [&](BatchJob& job) { job.start_latent = latent; };
        GenerateRequest same = one;
        same.captions = {source.caption};
        const at::Tensor rebuilt = back.generate(backbone, same).videos;
        const at::Tensor clip = video_to_tensor(source.video).unsqueeze(0);
        reconstruction.push_back((rebuilt.clamp(-1, 1) - clip).abs().mean().item<double>());
      }
      nfe = g.nfe;
      pipeline_stats = g.stats;
    }
    GenerateResult result;
    result.videos = at::cat(videos);
    result.nfe = nfe;
    result.captions = targets;
    result.stats = pipeline_stats;
    Json vmc = {{"tune_steps", o_.tuning.steps},
                {"lr", o_.tuning.lr},
                {"weight_decay", o_.tuning.weight_decay},
                {"trainable", o_.tuning.trainable},
                {"loss", o_.tuning.form},
                {"absolute", o_.tuning.absolute},
                {"start", inversion_ ? "ddim-inversion" : "noise"},
                {"inversion_model_calls", inversion_calls},
                {"source_captions", sources},
                {"tune_prompts", tune_prompts},
                {"target_captions", targets},
                {"tune_seconds", tune_total},
                {"tune_seconds_per_clip", req.count > 0 ? tune_total / double(req.count) : 0.0},
                {"tune_seconds_each", seconds},
                {"trainable_values", trainable_values},
                {"loss_curves", curves}};
    if (!reconstruction.empty()) {
      vmc["inversion_reconstruction_mae_each"] = reconstruction;
      vmc["inversion_reconstruction_mae"] = mean_of(reconstruction, 0, reconstruction.size());
    }
    if (o_.tuning.steps > 0 && !curves.empty()) {
      // The mean curve over clips, and its first and last fifth (a step's loss depends on its random t).
      std::vector<double> mean_curve(static_cast<size_t>(o_.tuning.steps), 0.0);
      for (const auto& c : curves)
        for (size_t s = 0; s < mean_curve.size(); ++s) mean_curve[s] += c[s].get<double>() / double(curves.size());
      const size_t fifth = std::max<size_t>(1, mean_curve.size() / 5);
      vmc["loss_curve"] = mean_curve;
      vmc["loss_start"] = mean_of(mean_curve, 0, fifth);
      vmc["loss_end"] = mean_of(mean_curve, mean_curve.size() - fifth, mean_curve.size());
    }
    result.stats["vmc"] = std::move(vmc);
    return result;
  }

 private:
  PipelineParts parts_;
  VmcOptions o_;
  std::shared_ptr<const DdimInversionNoise> inversion_;
};

}  // namespace

void register_vmc_method() {
  static bool done = false;
  if (done) return;
  done = true;
  ParamSpecs specs = pipeline_param_specs(Json{{"name", "ddim"}, {"steps", 10}}, Json{{"name", "ddim-inversion"}});
  specs.push_back({"tune_steps", 40,
                   "one-shot tuning steps per source clip (VMC: 400; 0 = the untuned model). Each step is one forward "
                   "and backward pass of one clip: about 0.05 s on the demo's tiny UNet at 8 x 32 x 32 with one "
                   "thread (measured under load), so the default 40 costs about 2 s per clip and VMC's 400 about 20 s",
                   {}, {}});
  specs.push_back({"lr", 1e-4, "AdamW learning rate (VMC: 1e-4)", {}, {}});
  specs.push_back({"weight_decay", 1e-2, "AdamW weight decay (VMC: 1e-2)", {}, {}});
  specs.push_back({"trainable", "temporal_qkv",
                   "what tunes: the temporal attention q, k, v (VMC) or every temporal parameter (ablation)",
                   {"temporal_qkv", "temporal"}, {}});
  specs.push_back({"loss", "cosine", "motion distillation: 1 - cos of noise residuals over frames (VMC) or l2",
                   {"cosine", "l2"}, {}});
  specs.push_back({"absolute", false,
                   "compare |residuals| (METHODS.md 5 as written) instead of the signed residual vectors", {}, {}});
  specs.push_back({"tune_prompt", "appearance-invariant",
                   "the tuning prompt: colour and shape words replaced by 'object', or the source caption",
                   {"appearance-invariant", "source"}, {}});
  specs.push_back({"target", "appearance-changed",
                   "target captions: the source caption with another colour and shape, or the source caption itself",
                   {"appearance-changed", "source"}, {}});
  specs.push_back({"colour_shift", 1, "target colour: this many places on in moving-shapes' colour list", {}, {}});
  specs.push_back({"shape_shift", 1, "target shape: this many places on in moving-shapes' shape list", {}, {}});
  method_registry().add(
      {"vmc",
       "VMC (seed 003): per source clip, tune a clone's temporal attention q/k/v on its motion, then render a "
       "target caption from the clip's DDIM inversion (or fresh noise)",
       specs, [](const Params& p) -> MethodPtr {
         VmcOptions o;
         o.tuning.steps = p.get<int64_t>("tune_steps");
         o.tuning.lr = p.get<double>("lr");
         o.tuning.weight_decay = p.get<double>("weight_decay");
         o.tuning.trainable = {p.get<std::string>("trainable")};
         o.tuning.form = p.get<std::string>("loss");
         o.tuning.absolute = p.get<bool>("absolute");
         o.tune_prompt = p.get<std::string>("tune_prompt");
         o.target = p.get<std::string>("target");
         o.colour_shift = p.get<int>("colour_shift");
         o.shape_shift = p.get<int>("shape_shift");
         if (o.tuning.steps < 0) p.fail("tune_steps", "must not be negative");
         if (!(o.tuning.lr > 0)) p.fail("lr", "must be positive");
         if (o.tuning.weight_decay < 0) p.fail("weight_decay", "must not be negative");
         if (o.colour_shift < 0 || o.shape_shift < 0) p.fail("colour_shift", "shifts must not be negative");
         return std::make_shared<VmcMethod>(pipeline_parts(p), std::move(o));
       }});
}

}  // namespace vdlab
