// The generation pipeline's composition points: a method's run_batch that stops and resumes (Dr.Mo's
// switch point), a start point from noised reference clips (img2img), and hooks of one run.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "methods/method.h"
#include "methods/pipeline/pipeline.h"
#include "methods/pipeline/start_point.h"
#include "methods/video_tensor.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

BackbonePtr gaussian() {
  register_builtin_methods();
  return backbone_registry().make("gaussian", {}, "backbone")(BackboneContext{});
}

GenerateRequest request(int64_t count, int64_t batch) {
  GenerateRequest r;
  r.count = count;
  r.batch_size = batch;
  r.frames = 3;
  r.height = r.width = 5;
  r.seed = 9;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(21);
  for (int64_t i = 0; i < count; ++i) {
    Clip c;
    c.video = tensor_to_video(at::rand({3, 3, 5, 5}, gen) * 2 - 1);
    r.references.push_back(c);
  }
  return r;
}

PipelineParts parts(const Json& sampler) {
  register_builtin_methods();
  PipelineParts p;
  p.sampler = testing::make_sampler(sampler.at("name").get<std::string>(), [&] {
    Json o = sampler;
    o.erase("name");
    return o;
  }());
  p.noise = noise_registry().make("iid", Json::object(), "noise");
  return p;
}

TEST(Pipeline, RunBatchStoppedAndResumedIsTheFullRunForDdim) {
  BackbonePtr backbone = gaussian();
  const GenerateRequest r = request(5, 2);
  const Json sampler = {{"name", "ddim"}, {"steps", 10}, {"eta", 0.4}};
  const GenerateResult full = GenerationPipeline(parts(sampler)).generate(*backbone, r);
  GenerationPipeline split(parts(sampler));
  split.run_batch = [](BatchJob& job, const BatchRunner& run) {
    BatchJob head = job;
    head.stop_step = 4;
    BatchJob tail = job;
    tail.start_step = 4;
    tail.start_latent = run(head);
    return run(tail);
  };
  const GenerateResult resumed = split.generate(*backbone, r);
  EXPECT_TRUE(at::equal(full.videos, resumed.videos));
  EXPECT_EQ(full.nfe, 10);
  EXPECT_EQ(resumed.nfe, 10);
}

TEST(Pipeline, StartAtATimestepNoisesTheReferenceClips) {
  // img2img: the reference clip noised to the timestep of the start step, then the rest of the schedule.
  BackbonePtr backbone = gaussian();
  const GenerateRequest r = request(2, 2);
  const Json sampler = {{"name", "unipc"}, {"steps", 10}};
  GenerationPipeline pipeline(parts(sampler));
  pipeline.prepare = [](BatchJob& job) {
    job.clean = job.reference_clips();
    job.start_at_timestep(600);
  };
  const GenerateResult out = pipeline.generate(*backbone, r);
  EXPECT_EQ(out.nfe, 6);  // steps 4..9 of 999, 899, 799, 699, 599, ...

  SampleContext ctx;
  ctx.schedule = NoiseSchedule::from_config(backbone->schedule());
  ctx.prediction = backbone->prediction();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(r.seed);
  ctx.generator = gen;
  ctx.start_step = 4;
  const at::Tensor noise = at::randn({2, 3, 3, 5, 5}, gen, at::kFloat);
  const at::Tensor clean = videos_to_tensor({r.references[0].video, r.references[1].video});
  const std::vector<double> ts = parts(sampler).sampler->timesteps(ctx.schedule);
  const at::Tensor x = add_noise(ctx.schedule, clean, noise, at::full({2, 3}, ts[4], at::kDouble));
  SampleStats st;
  const at::Tensor want = parts(sampler).sampler->sample(
      [&](const at::Tensor& xi, const at::Tensor& t) { return backbone->forward(xi, t, Conditioning{}); }, x, ctx, st);
  EXPECT_TRUE(at::equal(out.videos, want));
}

struct StepCounter : StepHook {
  int64_t steps = 0;
  void after_step(StepView&) override { ++steps; }
};

TEST(Pipeline, HooksOfOneRunSeeThatRun) {
  BackbonePtr backbone = gaussian();
  const GenerateRequest r = request(3, 2);
  auto counter = std::make_shared<StepCounter>();
  GenerationPipeline pipeline(parts({{"name", "dpmsolver++"}, {"steps", 7}}));
  pipeline.prepare = [counter](BatchJob& job) { job.hooks.push_back(counter); };
  pipeline.generate(*backbone, r);
  EXPECT_EQ(counter->steps, 14);  // two batches of seven steps
}

}  // namespace
}  // namespace vdlab
