// The baseline methods: noise init -> sampler (with optional classifier-free guidance) -> videos.
// "uniform" draws i.i.d. noise by default; "correlated-noise" is the same with AR(1) noise across frames
// (METHODS.md 4). Every axis (sampler, noise, guidance scale) is a parameter.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "methods/method.h"
#include "methods/noise/noise_init.h"
#include "methods/samplers/guidance.h"
#include "methods/samplers/sampler.h"
#include "methods/uniform.h"

namespace vdlab {

namespace {

class UniformMethod : public Method {
 public:
  UniformMethod(SamplerPtr sampler, NoiseInitPtr noise, double cfg_scale, Json config)
      : sampler_(std::move(sampler)), noise_(std::move(noise)), cfg_scale_(cfg_scale), config_(std::move(config)) {}

  GenerateResult generate(Backbone& backbone, const GenerateRequest& req) override {
    if (req.count < 1) throw ConfigError("generate: count must be at least 1");
    SampleContext ctx;
    ctx.schedule = NoiseSchedule::from_config(backbone.schedule(), "backbone.schedule");
    ctx.prediction = backbone.prediction();
    // One generator per cell: the noise and every stochastic step follow from the seed alone.
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(req.seed);
    ctx.generator = gen;
    const at::Device device(req.device);
    const int64_t batch = std::max<int64_t>(1, req.batch_size);
    std::vector<at::Tensor> videos;
    DenoiseCounter counter;
    SampleStats stats;
    for (int64_t start = 0; start < req.count; start += batch) {
      const int64_t b = std::min(batch, req.count - start);
      const at::Tensor noise =
          noise_->draw({b, backbone.channels(), req.frames, req.height, req.width}, gen, at::kFloat).to(device);
      Conditioning cond;
      if (!req.labels.empty()) {
        if (static_cast<int64_t>(req.labels.size()) != req.count)
          throw ConfigError("generate: labels must be one per video");
        cond.labels = at::tensor(std::vector<int64_t>(req.labels.begin() + start, req.labels.begin() + start + b), at::kLong).to(device);
      }
      if (!req.captions.empty())
        cond.captions.assign(req.captions.begin() + start, req.captions.begin() + start + b);
      const Denoise denoise = guided_denoise(backbone, cond, cfg_scale_, &counter);
      videos.push_back(sampler_->sample(denoise, noise, ctx, stats).to(at::kCPU).to(at::kFloat));
    }
    GenerateResult out;
    out.videos = at::cat(videos);
    const int64_t batches = (req.count + batch - 1) / batch;
    out.nfe = counter.calls / batches;
    out.stats = {{"sampler", sampler_->describe()},
                 {"denoise_calls", counter.calls},
                 {"backbone_forwards", counter.forwards},
                 {"cfg_scale", cfg_scale_}};
    return out;
  }

 private:
  SamplerPtr sampler_;
  NoiseInitPtr noise_;
  double cfg_scale_;
  Json config_;
};

void add_uniform(MethodRegistry& r, const std::string& name, const std::string& description, Json noise_default) {
  ParamSpecs specs = {
      sampler_registry().nested_param("sampler", Json{{"name", "unipc"}, {"order", 2}, {"variant", "bh2"}, {"steps", 20}},
                                      "the sampler and its options"),
      noise_registry().nested_param("noise", std::move(noise_default), "initial noise"),
      {"cfg_scale", 1.0, "classifier-free guidance scale (1 = no guidance)", {}, {}},
  };
  r.add({name, description, specs, [name](const Params& p) -> MethodPtr {
           SamplerPtr sampler = sampler_registry().make_resolved(p.at("sampler"), p.field("sampler"));
           NoiseInitPtr noise = noise_registry().make_resolved(p.at("noise"), p.field("noise"));
           return std::make_shared<UniformMethod>(std::move(sampler), std::move(noise), p.get<double>("cfg_scale"),
                                                  p.json());
         }});
}

}  // namespace

void register_uniform_methods() {
  static bool done = false;
  if (done) return;
  done = true;
  register_builtin_samplers();
  register_builtin_noise();
  add_uniform(method_registry(), "uniform", "noise init -> sampler -> videos (i.i.d. noise by default)",
              Json{{"name", "iid"}});
  add_uniform(method_registry(), "correlated-noise", "uniform with AR(1) noise across frames (rho 0.6 by default)",
              Json{{"name", "ar1"}, {"rho", 0.6}});
}

}  // namespace vdlab
