// The methods rebuilt on the generation pipeline produce bitwise the samples of the loop they replaced.
// `legacy_generate` is that loop as it stood (noise per batch from the cell's generator, guided denoise,
// one sampler call per batch); each registered method must match it exactly, including the order in
// which noise and stochastic steps draw from the one generator.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "methods/method.h"
#include "methods/noise/noise_init.h"
#include "methods/samplers/guidance.h"
#include "methods/samplers/sampler.h"

namespace vdlab {
namespace {

GenerateResult legacy_generate(const Json& sampler_cfg, const Json& noise_cfg, double cfg_scale, Backbone& backbone,
                               const GenerateRequest& req) {
  register_builtin_methods();
  SamplerPtr sampler = sampler_registry().make_resolved(sampler_registry().resolve(sampler_cfg, "s"), "s");
  NoiseInitPtr noise_init = noise_registry().make_resolved(noise_registry().resolve(noise_cfg, "n"), "n");
  SampleContext ctx;
  ctx.schedule = NoiseSchedule::from_config(backbone.schedule(), "backbone.schedule");
  ctx.prediction = backbone.prediction();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(req.seed);
  ctx.generator = gen;
  const int64_t batch = std::max<int64_t>(1, req.batch_size);
  std::vector<at::Tensor> videos;
  DenoiseCounter counter;
  SampleStats stats;
  for (int64_t start = 0; start < req.count; start += batch) {
    const int64_t b = std::min(batch, req.count - start);
    const at::Tensor noise = noise_init->draw({b, backbone.channels(), req.frames, req.height, req.width}, gen, at::kFloat);
    Conditioning cond;
    if (!req.labels.empty())
      cond.labels = at::tensor(std::vector<int64_t>(req.labels.begin() + start, req.labels.begin() + start + b), at::kLong);
    if (!req.captions.empty()) cond.captions.assign(req.captions.begin() + start, req.captions.begin() + start + b);
    const Denoise denoise = guided_denoise(backbone, cond, cfg_scale, &counter);
    videos.push_back(sampler->sample(denoise, noise, ctx, stats).to(at::kFloat));
  }
  GenerateResult out;
  out.videos = at::cat(videos);
  out.nfe = counter.calls / ((req.count + batch - 1) / batch);
  return out;
}

// The gaussian-mixture denoiser with a label-dependent shift, so guidance changes the result.
class LabelledMixture : public Backbone {
 public:
  LabelledMixture() {
    register_builtin_methods();
    inner_ = backbone_registry().make("gaussian-mixture", {{"frames", 4}, {"height", 4}, {"width", 4}}, "backbone")(
        BackboneContext{});
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override {
    at::Tensor out = inner_->forward(x, t, cond);
    if (!cond.labels.defined()) return out;
    return out + 0.05 * cond.labels.to(out.scalar_type()).clamp_min(0).view({-1, 1, 1, 1, 1});
  }
  Prediction prediction() const override { return inner_->prediction(); }
  Json schedule() const override { return inner_->schedule(); }
  int64_t channels() const override { return inner_->channels(); }
  bool conditional() const override { return true; }
  Json describe() const override { return {{"name", "labelled-mixture"}}; }

 private:
  BackbonePtr inner_;
};

GenerateRequest small_request(bool labels) {
  GenerateRequest r;
  r.count = 3;
  r.batch_size = 2;  // two batches, the last one short
  r.frames = 4;
  r.height = r.width = 4;
  r.seed = 17;
  if (labels) r.labels = {0, 2, 1};
  if (labels) r.captions = {"a", "b", "c"};
  return r;
}

GenerateResult run_method(const std::string& method, const Json& params, Backbone& backbone, const GenerateRequest& r) {
  register_builtin_methods();
  return method_registry().make(method, params, "variant")->generate(backbone, r);
}

struct Case {
  std::string method;
  Json sampler;
  Json noise;
  double cfg;
  bool labels;
};

TEST(PipelineParity, BuiltinMethodsMatchTheLoopTheyReplacedBitwise) {
  LabelledMixture backbone;
  const std::vector<Case> cases = {
      {"uniform", {{"name", "unipc"}, {"order", 2}, {"variant", "bh2"}, {"steps", 8}}, {{"name", "iid"}}, 1.0, false},
      {"uniform", {{"name", "ddim"}, {"steps", 6}, {"eta", 0.7}}, {{"name", "iid"}}, 1.0, true},
      {"uniform", {{"name", "dpmsolver++"}, {"steps", 6}}, {{"name", "iid"}}, 2.5, true},
      {"uniform", {{"name", "euler"}, {"steps", 6}}, {{"name", "mixed"}}, 1.0, false},
      {"correlated-noise", {{"name", "ddpm"}, {"steps", 6}}, {{"name", "ar1"}, {"rho", 0.6}}, 1.0, false},
      {"correlated-noise", {{"name", "unipc"}, {"steps", 7}, {"order", 3}}, {{"name", "ar1"}, {"rho", 0.85}}, 3.0, true},
  };
  for (const Case& c : cases) {
    const GenerateRequest r = small_request(c.labels);
    const GenerateResult want = legacy_generate(c.sampler, c.noise, c.cfg, backbone, r);
    const GenerateResult got =
        run_method(c.method, {{"sampler", c.sampler}, {"noise", c.noise}, {"cfg_scale", c.cfg}}, backbone, r);
    EXPECT_TRUE(at::equal(want.videos, got.videos)) << c.method << " " << c.sampler.dump();
    EXPECT_EQ(want.nfe, got.nfe) << c.method << " " << c.sampler.dump();
    EXPECT_EQ(got.stats.at("cfg_scale").get<double>(), c.cfg);
  }
}

}  // namespace
}  // namespace vdlab
