#include "shared_noise.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "methods/method.h"
#include "methods/samplers/guidance.h"
#include "methods/samplers/sampler.h"

namespace example {

using namespace vdlab;

namespace {

class SharedNoise : public Method {
 public:
  explicit SharedNoise(SamplerPtr sampler) : sampler_(std::move(sampler)) {}

  GenerateResult generate(Backbone& backbone, const GenerateRequest& req) override {
    SampleContext ctx;
    ctx.schedule = NoiseSchedule::from_config(backbone.schedule(), "backbone.schedule");
    ctx.prediction = backbone.prediction();
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(req.seed);
    ctx.generator = gen;
    // One draw per video, repeated over the frame axis.
    at::Tensor noise = at::randn({req.count, backbone.channels(), 1, req.height, req.width}, gen)
                           .expand({req.count, backbone.channels(), req.frames, req.height, req.width})
                           .contiguous();
    DenoiseCounter counter;
    SampleStats stats;
    GenerateResult out;
    out.videos = sampler_->sample(guided_denoise(backbone, {}, 1.0, &counter), noise, ctx, stats);
    out.nfe = counter.calls;
    return out;
  }

 private:
  SamplerPtr sampler_;
};

}  // namespace

void register_shared_noise() {
  register_builtin_methods();
  if (method_registry().contains("shared-noise")) return;
  method_registry().add(
      {"shared-noise",
       "every frame starts from one shared noise draw, then any sampler",
       {sampler_registry().nested_param("sampler", {{"name", "ddim"}, {"steps", 10}}, "the sampler and its options")},
       [](const Params& p) -> MethodPtr {
         return std::make_shared<SharedNoise>(sampler_registry().make_resolved(p.at("sampler"), p.field("sampler")));
       }});
}

}  // namespace example
