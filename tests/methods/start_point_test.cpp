// Runs that begin mid-schedule (img2img, Dr.Mo's switch point, VMC's inverted latents) and runs that stop
// at a step: diffusers' public UniPC start-point test, and exact agreement with the full run's tail.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>

#include "core/error.h"
#include "methods/pipeline/start_point.h"
#include "methods/samplers/sampler.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

using testing::make_sampler;

// diffusers' SchedulerCommonTest.dummy_sample_deter / dummy_noise_deter, [4, 3, 8, 8] with a frame axis:
// arange(768) (flipped for the noise) laid out as [C, H, W, B], divided by 768, permuted to [B, C, H, W].
at::Tensor diffusers_deter(bool flip) {
  at::Tensor v = at::arange(768, at::kLong);
  if (flip) v = v.flip(0);
  return (v.reshape({3, 8, 8, 4}).to(at::kFloat) / 768.0).permute({3, 0, 1, 2}).unsqueeze(2).contiguous();
}

// Records the sample after every step.
struct StepRecorder : StepHook {
  std::map<int64_t, at::Tensor> after;
  void after_step(StepView& v) override { after[v.step] = v.sample; }
};

TEST(StartPoint, UniPCFullLoopWithNoiseMatchesDiffusers) {
  // diffusers tests/schedulers/test_scheduler_unipc.py::test_full_loop_with_noise: 10 steps, bh2,
  // order 2, final_sigmas_type sigma_min, t_start 8; sample = add_noise(sample, noise, timesteps[8]).
  const SamplerPtr s = make_sampler("unipc", {{"steps", 10}, {"order", 2}, {"variant", "bh2"}, {"final_sigma", "sigma_min"}});
  SampleContext ctx;
  const std::vector<double> ts = s->timesteps(ctx.schedule);
  const at::Tensor x0 = diffusers_deter(false), noise = diffusers_deter(true);
  const at::Tensor x = add_noise(ctx.schedule, x0, noise, at::full({4, 1}, ts[8], at::kDouble));
  ctx.start_step = 8;
  SampleStats stats;
  const at::Tensor y = s->sample(testing::diffusers_test_denoise(), x, ctx, stats);
  EXPECT_NEAR(y.abs().sum().item<double>(), 315.5757, 1e-2);
  EXPECT_NEAR(y.abs().mean().item<double>(), 0.4109, 1e-3);
  EXPECT_EQ(stats.nfe, 2);
}

TEST(StartPoint, DdimStartedAtStepKEqualsTheTailOfTheFullRun) {
  // DDIM (and DDPM) steps depend only on the sample and the step: a run begun at k from the full run's
  // sample at k reproduces the full run's last N - k steps bitwise, stochastic steps included.
  const std::vector<std::pair<std::string, Json>> samplers = {
      {"ddim", {{"steps", 10}}},
      {"ddim", {{"steps", 10}, {"eta", 0.5}, {"spacing", "trailing"}}},
      {"ddpm", {{"steps", 10}}},
  };
  for (const auto& [name, params] : samplers) {
    const SamplerPtr s = make_sampler(name, params);
    const at::Tensor noise = at::randn({2, 3, 4, 5, 5}, at::make_generator<at::CPUGeneratorImpl>(1), at::kDouble);
    for (int64_t k : {1, 4, 9}) {
      auto recorder = std::make_shared<StepRecorder>();
      const StepHooks hooks({recorder});
      SampleContext full;
      full.hooks = &hooks;
      full.step_noise = testing::oracle_step_noise();
      SampleStats st;
      const at::Tensor y_full = s->sample(testing::oracle_denoise(), noise, full, st);

      SampleContext tail;
      tail.step_noise = testing::oracle_step_noise();
      tail.start_step = k;
      SampleStats st2;
      const at::Tensor y_tail = s->sample(testing::oracle_denoise(), recorder->after.at(k - 1), tail, st2);
      EXPECT_TRUE(at::equal(y_full, y_tail)) << name << " " << params.dump() << " k " << k;
      EXPECT_EQ(st2.nfe, 10 - k);

      // A run stopped at k returns the full run's sample at k.
      SampleContext head;
      head.step_noise = testing::oracle_step_noise();
      head.stop_step = k;
      SampleStats st3;
      const at::Tensor y_head = s->sample(testing::oracle_denoise(), noise, head, st3);
      EXPECT_TRUE(at::equal(y_head, recorder->after.at(k - 1))) << name << " k " << k;
      EXPECT_EQ(st3.nfe, k);
    }
  }
}

TEST(StartPoint, EulerStopAndResumeComposeThroughTheVPSample) {
  // Euler steps a VE sample; a stopped run returns the VP sample and a resumed run takes one, so stop at
  // k + resume at k equals the full run up to the rounding of the two conversions.
  const SamplerPtr s = make_sampler("euler", {{"steps", 10}});
  const at::Tensor noise = at::randn({1, 2, 3, 4, 4}, at::make_generator<at::CPUGeneratorImpl>(2), at::kDouble);
  SampleContext full;
  SampleStats st;
  const at::Tensor y_full = s->sample(testing::oracle_denoise(), noise, full, st);
  SampleContext head;
  head.stop_step = 6;
  const at::Tensor mid = s->sample(testing::oracle_denoise(), noise, head, st);
  SampleContext tail;
  tail.start_step = 6;
  const at::Tensor y = s->sample(testing::oracle_denoise(), mid, tail, st);
  EXPECT_TRUE(at::allclose(y, y_full, 1e-12, 1e-12)) << (y - y_full).abs().max().item<double>();
}

TEST(StartPoint, RangeOutsideTheScheduleIsRefused) {
  const SamplerPtr s = make_sampler("ddim", {{"steps", 5}});
  const at::Tensor noise = at::zeros({1, 1, 1, 2, 2}, at::kDouble);
  SampleStats st;
  SampleContext a;
  a.start_step = 6;
  EXPECT_THROW(s->sample(testing::oracle_denoise(), noise, a, st), ConfigError);
  SampleContext b;
  b.start_step = 3;
  b.stop_step = 2;
  EXPECT_THROW(s->sample(testing::oracle_denoise(), noise, b, st), ConfigError);
}

TEST(StartPoint, StartStepAtATrainingTimestep) {
  const std::vector<double> ts = {999, 899, 799, 699, 599, 500, 400, 300, 200, 100};
  EXPECT_EQ(start_step_at(ts, 999), 0);
  EXPECT_EQ(start_step_at(ts, 900), 1);
  EXPECT_EQ(start_step_at(ts, 600), 4);
  EXPECT_EQ(start_step_at(ts, 200), 8);
  EXPECT_THROW(start_step_at(ts, 1), ConfigError);
}

TEST(StartPoint, AddNoiseIsTheVPMixAtEachFramesTimestep) {
  const NoiseSchedule sched = NoiseSchedule::linear();
  const at::Tensor x0 = at::full({1, 1, 2, 1, 1}, 0.5, at::kDouble), eps = at::full({1, 1, 2, 1, 1}, -1.0, at::kDouble);
  const at::Tensor y = add_noise(sched, x0, eps, at::tensor({0.0, 500.0}, at::kDouble).view({1, 2}));
  for (int64_t f = 0; f < 2; ++f) {
    const double ac = sched.alphas_cumprod[f == 0 ? 0 : 500];
    EXPECT_NEAR(y[0][0][f][0][0].item<double>(), 0.5 * std::sqrt(ac) - std::sqrt(1 - ac), 1e-12);
  }
}

}  // namespace
}  // namespace vdlab
