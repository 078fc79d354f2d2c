// Seed 002's sampling (METHODS.md 4): the generation pipeline (DPM-Solver++ with Karras sigmas and
// AR(1) noise across frames by default, classifier-free guidance) with a motion score per video for the
// backbone's motion-adaptive temporal blocks, taken from the prompt's keywords or set by the user, and
// recorded per video (the backbone needs "temporal attention control"). `temporal_modules: false`
// samples the same network with every temporal block skipped: the image model with correlated noise
// (the source's Table 1 baseline).
#include "methods/motion_adaptive/motion_adaptive.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "methods/backbone/capabilities.h"
#include "methods/method.h"
#include "methods/motion_adaptive/motion_prompt.h"
#include "methods/pipeline/pipeline.h"

namespace vdlab {

namespace {

// The backbone as the pipeline sees it: every forward carries the batch's motion scores (set per batch)
// and, for the image-model baseline, skips the temporal blocks. Guidance doubles the batch (conditional
// then unconditional half, the same videos), so a batch of 2b gets the b scores twice.
class MotionConditioned : public Backbone {
 public:
  MotionConditioned(Backbone& inner, bool temporal_modules)
      : inner_(inner),
        controlled_(inner.capability<TemporalAttentionControl>("motion-adaptive")),
        temporal_modules_(temporal_modules) {}
  void set_motion(torch::Tensor motion) { motion_ = std::move(motion); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override {
    ForwardOptions options;
    options.skip_temporal = !temporal_modules_;
    if (motion_.defined()) {
      const int64_t b = motion_.size(0), n = x.size(0);
      if (n == b) options.motion = motion_;
      else if (n == 2 * b) options.motion = at::cat({motion_, motion_});
      else
        throw Error("motion-adaptive: a forward of " + std::to_string(n) + " videos for a batch of " + std::to_string(b));
    }
    return controlled_.forward_with(x, t, cond, options).prediction;
  }
  Prediction prediction() const override { return inner_.prediction(); }
  Json schedule() const override { return inner_.schedule(); }
  int64_t channels() const override { return inner_.channels(); }
  bool conditional() const override { return inner_.conditional(); }
  void to(const torch::Device& device) override { inner_.to(device); }
  Json describe() const override { return inner_.describe(); }

 private:
  Backbone& inner_;
  ControlledForward& controlled_;
  bool temporal_modules_;
  torch::Tensor motion_;
};

struct MotionOptions {
  std::string source;  // keywords | user
  double user_motion = 0.5;
  MotionKeywords keywords;
  bool temporal_modules = true;
};

class MotionAdaptiveMethod : public Method {
 public:
  MotionAdaptiveMethod(PipelineParts parts, MotionOptions options) : parts_(std::move(parts)), o_(std::move(options)) {}

  GenerateResult generate(Backbone& backbone, const GenerateRequest& req) override {
    std::vector<double> motion(static_cast<size_t>(req.count), o_.user_motion);
    std::vector<std::string> words(static_cast<size_t>(req.count));
    if (o_.source == "keywords") {
      for (int64_t i = 0; i < req.count; ++i) {
        const std::string caption = size_t(i) < req.captions.size() ? req.captions[size_t(i)] : std::string();
        const PromptMotion pm = motion_from_prompt(caption, o_.keywords);
        motion[size_t(i)] = pm.motion;
        words[size_t(i)] = pm.word;
      }
    }
    MotionConditioned conditioned(backbone, o_.temporal_modules);
    GenerationPipeline pipeline(parts_);
    pipeline.prepare = [&](BatchJob& job) {
      const std::vector<double> part(motion.begin() + job.begin, motion.begin() + job.begin + job.size);
      conditioned.set_motion(at::tensor(part, at::kDouble).to(at::kFloat).to(job.noise.device()));
    };
    GenerateResult result = pipeline.generate(conditioned, req);
    Json record = {{"source", o_.source}, {"temporal_modules", o_.temporal_modules}, {"motion_each", motion}};
    if (o_.source == "keywords") {
      record["keyword_each"] = words;
      record["high_words"] = o_.keywords.high;
      record["low_words"] = o_.keywords.low;
    }
    double mean = 0;
    for (double m : motion) mean += m / double(std::max<int64_t>(1, req.count));
    record["motion_mean"] = mean;
    // The share of the network's parameters in its temporal modules (the source: 25.8M, 2.9 %).
    const Json described = backbone.describe();
    if (described.contains("temporal_parameter_share")) {
      record["temporal_parameters"] = described.at("temporal_parameters");
      record["parameters"] = described.at("parameters");
      record["temporal_parameter_share"] = described.at("temporal_parameter_share");
    }
    result.stats["motion_adaptive"] = std::move(record);
    return result;
  }

 private:
  PipelineParts parts_;
  MotionOptions o_;
};

}  // namespace

void register_motion_adaptive_method() {
  static bool done = false;
  if (done) return;
  done = true;
  const MotionKeywords d;
  ParamSpecs specs = pipeline_param_specs(Json{{"name", "dpmsolver++"}, {"steps", 20}, {"karras", true}},
                                          Json{{"name", "ar1"}, {"rho", 0.6}});
  specs.push_back({"motion", "keywords",
                   "the motion score m per video: from the prompt's keywords, or the user's value motion_value",
                   {"keywords", "user"}, {}});
  specs.push_back({"motion_value", 0.5, "m of every video when motion is user (in [0, 1])", {}, {}});
  specs.push_back({"high_words", d.high, "prompt words that mean high motion", {}, {}});
  specs.push_back({"low_words", d.low, "prompt words that mean low motion", {}, {}});
  specs.push_back({"high_motion", d.high_motion, "m of a prompt with a high-motion word", {}, {}});
  specs.push_back({"low_motion", d.low_motion, "m of a prompt with a low-motion word", {}, {}});
  specs.push_back({"neutral_motion", d.neutral_motion, "m of a prompt with neither (or both)", {}, {}});
  specs.push_back({"temporal_modules", true,
                   "false: skip every temporal block (the image model with the same noise, the source's Table 1 "
                   "baseline)",
                   {}, {}});
  method_registry().add(
      {"motion-adaptive",
       "seed 002: pipeline sampling (DPM-Solver++ Karras, AR(1) noise) with a motion score per video from the "
       "prompt's keywords or the user for motion-adaptive temporal blocks",
       specs, [](const Params& p) -> MethodPtr {
         MotionOptions o;
         o.source = p.get<std::string>("motion");
         o.user_motion = p.get<double>("motion_value");
         o.keywords.high = p.get<std::vector<std::string>>("high_words");
         o.keywords.low = p.get<std::vector<std::string>>("low_words");
         o.keywords.high_motion = p.get<double>("high_motion");
         o.keywords.low_motion = p.get<double>("low_motion");
         o.keywords.neutral_motion = p.get<double>("neutral_motion");
         o.temporal_modules = p.get<bool>("temporal_modules");
         for (const char* field : {"motion_value", "high_motion", "low_motion", "neutral_motion"}) {
           const double v = p.get<double>(field);
           if (v < 0 || v > 1) p.fail(field, "must lie in [0, 1]");
         }
         return std::make_shared<MotionAdaptiveMethod>(pipeline_parts(p), std::move(o));
       }});
}

}  // namespace vdlab
