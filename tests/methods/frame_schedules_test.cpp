// Per-frame schedules as values (METHODS.md 6): each builder's exact table, tables refused when an
// unpinned frame's timesteps increase, held frames kept bitwise through the held step in every sampler,
// and pinned frames from reference clips through the generation pipeline.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/error.h"
#include "methods/method.h"
#include "methods/pipeline/frame_schedules.h"
#include "methods/pipeline/pipeline.h"
#include "methods/samplers/sampler.h"
#include "methods/video_tensor.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

using testing::make_sampler;

at::Tensor table(std::vector<std::vector<double>> rows) {
  std::vector<at::Tensor> r;
  for (auto& row : rows) r.push_back(at::tensor(row, at::kDouble));
  return at::stack(r);
}

TEST(FrameSchedules, BuildersGiveTheirExactTables) {
  const std::vector<double> ts = {900, 500, 100};
  const FrameSchedule st = standard_schedule(ts, 3);
  EXPECT_TRUE(at::equal(st.timesteps, table({{900, 900, 900}, {500, 500, 500}, {100, 100, 100}})));
  EXPECT_EQ(st.pinned, (std::vector<uint8_t>{0, 0, 0}));
  const FrameSchedule i2v = image_to_video_schedule(ts, 3);
  EXPECT_TRUE(at::equal(i2v.timesteps, table({{0, 900, 900}, {0, 500, 500}, {0, 100, 100}})));
  EXPECT_EQ(i2v.pinned, (std::vector<uint8_t>{1, 0, 0}));
  const FrameSchedule interp = interpolation_schedule(ts, 4);
  EXPECT_TRUE(at::equal(interp.timesteps, table({{0, 900, 900, 0}, {0, 500, 500, 0}, {0, 100, 100, 0}})));
  EXPECT_EQ(interp.pinned, (std::vector<uint8_t>{1, 0, 0, 1}));
  const FrameSchedule chunk = long_video_chunk_schedule(ts, 4, 2);
  EXPECT_TRUE(at::equal(chunk.timesteps, table({{0, 0, 900, 900}, {0, 0, 500, 500}, {0, 0, 100, 100}})));
  EXPECT_EQ(chunk.pinned, (std::vector<uint8_t>{1, 1, 0, 0}));
  // tau_i(t) = min(c i t, t) with c = 0.4: frame 1 at 0.4 t, frame 2 at 0.8 t, frames 3 on at t.
  const FrameSchedule prog = progressive_schedule(ts, 4, 0.4);
  EXPECT_TRUE(at::allclose(prog.timesteps, table({{0, 360, 720, 900}, {0, 200, 400, 500}, {0, 40, 80, 100}}), 0, 1e-12));
  EXPECT_EQ(prog.pinned, (std::vector<uint8_t>{1, 0, 0, 0}));
  EXPECT_THROW(interpolation_schedule(ts, 2), ConfigError);
  EXPECT_THROW(long_video_chunk_schedule(ts, 4, 4), ConfigError);
  EXPECT_THROW(progressive_schedule(ts, 4, 0.0), ConfigError);
}

TEST(FrameSchedules, IncreasingTableIsRefusedNamingFrameAndStep) {
  SampleContext ctx;
  // Video 1, frame 2 goes 400 -> 500 at step 2.
  at::Tensor t = at::tensor(std::vector<double>{900, 700, 500, 300}, at::kDouble).view({4, 1, 1}).expand({4, 2, 3}).contiguous();
  t[2][1][2] = 500;
  t[1][1][2] = 400;
  ctx.frame_timesteps = t;
  const at::Tensor x = at::zeros({2, 1, 3, 2, 2}, at::kDouble);
  SampleStats st;
  try {
    make_sampler("ddim", {{"steps", 4}})->sample(testing::oracle_denoise(), x, ctx, st);
    FAIL() << "an increasing table was accepted";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("video 1, frame 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("step 2"), std::string::npos) << msg;
  }
  // A pinned frame's table entries are not its schedule: the same table with that frame pinned runs.
  ctx.pinned = at::zeros({2, 3}, at::kBool);
  ctx.pinned[1][2] = true;
  EXPECT_NO_THROW(make_sampler("ddim", {{"steps", 4}})->sample(testing::oracle_denoise(), x, ctx, st));
}

std::vector<std::pair<std::string, Json>> every_sampler() {
  return {
      {"unipc", {{"steps", 8}, {"order", 3}}},
      {"unipc", {{"steps", 8}, {"order", 2}, {"variant", "bh1"}, {"final_sigma", "sigma_min"}}},
      {"unipc", {{"steps", 8}, {"order", 2}, {"predict_x0", false}, {"final_sigma", "sigma_min"}}},
      {"dpmsolver++", {{"steps", 8}}},
      {"dpmsolver++", {{"steps", 8}, {"solver_type", "heun"}, {"final_sigma", "sigma_min"}}},
      {"ddim", {{"steps", 8}, {"eta", 0.5}, {"prev_timestep", "next"}}},
      {"ddim", {{"steps", 8}}},
      {"ddpm", {{"steps", 8}}},
      {"euler", {{"steps", 8}}},
  };
}

// Every sample the sampler hands to hooks, by step: after the corrector and after the step.
struct Trace : StepHook {
  std::map<int64_t, at::Tensor> corrected, after;
  void after_corrector(StepView& v) override { corrected[v.step] = v.sample; }
  void after_step(StepView& v) override { after[v.step] = v.sample; }
  // The sample step i proceeds from.
  at::Tensor base(int64_t i, const at::Tensor& initial) const {
    if (corrected.count(i)) return corrected.at(i);
    return i == 0 ? initial : after.at(i - 1);
  }
};

TEST(FrameSchedules, HeldFrameIsBitwiseUnchangedAcrossTheHeldStepInEverySampler) {
  // Frame 1 holds its timestep through steps 2 and 3, frame 2 through steps 1 and 2, frame 3 is at t = 0
  // (unpinned) throughout; frame 0 is on the sampler's own schedule. (Step 0 starts from the sampler's
  // scaled noise under Euler, so the checks begin at step 1.)
  for (auto dtype : {at::kFloat, at::kDouble}) {
    for (const auto& [name, params] : every_sampler()) {
      const SamplerPtr s = make_sampler(name, params);
      SampleContext ctx;
      const std::vector<double> ts = s->timesteps(ctx.schedule);
      const int64_t n = static_cast<int64_t>(ts.size());
      at::Tensor t = at::zeros({n, 1, 4}, at::kDouble);
      for (int64_t i = 0; i < n; ++i) {
        const double v = ts[static_cast<size_t>(i)];
        t[i][0][0] = v;
        t[i][0][1] = (i == 3 || i == 4) ? ts[2] : v;
        t[i][0][2] = (i >= 1 && i <= 3) ? ts[1] : v;
        t[i][0][3] = 0.0;
      }
      ctx.frame_timesteps = t;
      auto trace = std::make_shared<Trace>();
      const StepHooks hooks({trace});
      ctx.hooks = &hooks;
      ctx.step_noise = testing::oracle_step_noise();
      const at::Tensor x = at::randn({1, 2, 4, 3, 3}, at::make_generator<at::CPUGeneratorImpl>(8), dtype);
      SampleStats st;
      const at::Tensor y = s->sample(testing::oracle_denoise(), x, ctx, st);
      const std::string what = name + " " + params.dump() + (dtype == at::kFloat ? " float" : " double");
      ASSERT_TRUE(at::isfinite(y).all().item<bool>()) << what;
      auto frame = [](const at::Tensor& v, int64_t f) { return v.select(2, f); };
      for (int64_t i : {2, 3})  // frame 1 held through steps 2 and 3
        EXPECT_TRUE(at::equal(frame(trace->after.at(i), 1), frame(trace->base(i, x), 1))) << what << " step " << i;
      for (int64_t i : {1, 2})  // frame 2 held through steps 1 and 2
        EXPECT_TRUE(at::equal(frame(trace->after.at(i), 2), frame(trace->base(i, x), 2))) << what << " step " << i;
      for (int64_t i = 1; i + 1 < n; ++i)  // frame 3 at t = 0 throughout
        EXPECT_TRUE(at::equal(frame(trace->after.at(i), 3), frame(trace->base(i, x), 3))) << what << " step " << i;
      // A held frame is never corrected for the step it held.
      for (const auto& [i, c] : trace->corrected) {
        if (i == 3 || i == 4) {
          EXPECT_TRUE(at::equal(frame(c, 1), frame(trace->after.at(i - 1), 1))) << what << " corrector " << i;
        }
      }
      // Frames that move do move.
      EXPECT_FALSE(at::equal(frame(trace->after.at(2), 0), frame(trace->base(2, x), 0))) << what;
      EXPECT_FALSE(at::equal(frame(trace->after.at(4), 1), frame(trace->base(4, x), 1))) << what;
    }
  }
}

TEST(FrameSchedules, ImageToVideoThroughThePipelineKeepsTheReferenceFrame) {
  // A method composed from the pipeline: reference clips pinned on frame 0 with the i2v table.
  register_builtin_methods();
  BackbonePtr backbone = backbone_registry().make("gaussian", {}, "backbone")(BackboneContext{});
  GenerateRequest r;
  r.count = 3;
  r.batch_size = 2;
  r.frames = 4;
  r.height = r.width = 5;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  for (int64_t i = 0; i < r.count; ++i) {
    Clip c;
    c.video = tensor_to_video(at::rand({3, 4, 5, 5}, gen) * 2 - 1);
    r.references.push_back(c);
  }
  PipelineParts parts;
  parts.sampler = make_sampler("unipc", {{"steps", 6}});
  register_builtin_noise();
  parts.noise = noise_registry().make("iid", Json::object(), "noise");
  GenerationPipeline pipeline(parts);
  pipeline.prepare = [](BatchJob& job) {
    job.clean = job.reference_clips();
    job.use_schedule(image_to_video_schedule(job.timesteps, job.noise.size(2)));
  };
  const GenerateResult out = pipeline.generate(*backbone, r);
  for (int64_t i = 0; i < r.count; ++i) {
    const at::Tensor ref = video_to_tensor(r.references[static_cast<size_t>(i)].video);
    EXPECT_TRUE(at::equal(out.videos[i].select(1, 0), ref.select(1, 0))) << i;
    EXPECT_FALSE(at::equal(out.videos[i].select(1, 1), ref.select(1, 1))) << i;
  }
  EXPECT_EQ(out.nfe, 6);
}

}  // namespace
}  // namespace vdlab
