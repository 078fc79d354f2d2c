// FVDM's zero-shot tasks (seed 004, METHODS.md 6) through their registered methods: the per-frame table
// each task hands the network, on exact tables; frames pinned from the reference clip come back bitwise;
// a long video's chunks carry the previous chunk's last frames bitwise; the cell stats say so.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "core/error.h"
#include "methods/fvdm/fvdm_methods.h"
#include "methods/fvdm/long_video.h"
#include "methods/method.h"
#include "methods/pipeline/pipeline.h"
#include "methods/video_tensor.h"

namespace vdlab {
namespace {

// The exact Gaussian denoiser, recording the timesteps [B, F] of every call.
class RecordingBackbone : public Backbone {
 public:
  RecordingBackbone() {
    register_builtin_methods();
    inner_ = backbone_registry().make("gaussian", {}, "backbone")(BackboneContext{});
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override {
    calls.push_back(t.to(at::kDouble).clone());
    return inner_->forward(x, t, cond);
  }
  Prediction prediction() const override { return inner_->prediction(); }
  Json schedule() const override { return inner_->schedule(); }
  int64_t channels() const override { return inner_->channels(); }
  Json describe() const override { return inner_->describe(); }

  std::vector<at::Tensor> calls;

 private:
  BackbonePtr inner_;
};

GenerateRequest request_with_references(int64_t count, int64_t frames, uint64_t seed = 0) {
  GenerateRequest r;
  r.count = count;
  r.batch_size = 2;
  r.frames = frames;
  r.height = r.width = 4;
  r.seed = seed;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(17);
  for (int64_t i = 0; i < count; ++i) {
    Clip c;
    c.id = "ref/" + std::to_string(i);
    c.video = tensor_to_video(at::rand({3, frames, 4, 4}, gen) * 2 - 1);
    r.references.push_back(c);
  }
  return r;
}

MethodPtr make_method(const std::string& name, Json params = Json::object()) {
  register_builtin_methods();
  params["name"] = name;
  // DDIM with 4 linspace steps: the sampler's timesteps are 999, 666, 333, 0.
  params["sampler"] = Json{{"name", "ddim"}, {"steps", 4}, {"spacing", "linspace"}};
  return method_registry().make_resolved(method_registry().resolve(params, "variant"), "variant");
}

at::Tensor table(std::vector<std::vector<double>> rows) {
  std::vector<at::Tensor> r;
  for (auto& row : rows) r.push_back(at::tensor(row, at::kDouble));
  return at::stack(r);
}

// The timesteps the network saw for video `v`, one row per call.
at::Tensor seen(const RecordingBackbone& b, int64_t v, size_t first_call = 0, size_t calls = 4) {
  std::vector<at::Tensor> rows;
  for (size_t i = first_call; i < first_call + calls; ++i) rows.push_back(b.calls.at(i)[v]);
  return at::stack(rows);
}

TEST(FvdmTasks, EachTaskHandsTheNetworkItsExactTable) {
  const GenerateRequest r = request_with_references(2, 4);
  struct Case {
    std::string method;
    Json params;
    at::Tensor expected;
  };
  const std::vector<Case> cases = {
      {"fvdm-standard", {}, table({{999, 999, 999, 999}, {666, 666, 666, 666}, {333, 333, 333, 333}, {0, 0, 0, 0}})},
      {"fvdm-image-to-video", {}, table({{0, 999, 999, 999}, {0, 666, 666, 666}, {0, 333, 333, 333}, {0, 0, 0, 0}})},
      {"fvdm-interpolation", {}, table({{0, 999, 999, 0}, {0, 666, 666, 0}, {0, 333, 333, 0}, {0, 0, 0, 0}})},
      // tau_i(t) = min(c i t, t) with c = 0.5: frame 1 at t / 2, frames 2 and 3 at t.
      {"fvdm-progressive", {{"c", 0.5}},
       table({{0, 499.5, 999, 999}, {0, 333, 666, 666}, {0, 166.5, 333, 333}, {0, 0, 0, 0}})},
  };
  for (const auto& c : cases) {
    RecordingBackbone backbone;
    Json params = c.params;
    params["name"] = c.method;
    const GenerateResult out = make_method(c.method, params)->generate(backbone, r);
    ASSERT_EQ(backbone.calls.size(), 4u) << c.method;  // one batch of two videos, 4 steps
    for (int64_t v = 0; v < 2; ++v) EXPECT_TRUE(at::allclose(seen(backbone, v), c.expected, 0, 1e-9)) << c.method << "\n" << seen(backbone, v);
    EXPECT_EQ(out.stats.at("fvdm").at("task"), c.method.substr(5)) << c.method;
  }
}

TEST(FvdmTasks, PinnedFramesAreTheReferenceFramesBitwise) {
  const GenerateRequest r = request_with_references(3, 5);
  struct Case {
    std::string method;
    std::vector<int64_t> pinned;
  };
  for (const Case& c : std::vector<Case>{{"fvdm-image-to-video", {0}}, {"fvdm-interpolation", {0, 4}}, {"fvdm-progressive", {0}}}) {
    RecordingBackbone backbone;
    const GenerateResult out = make_method(c.method, {{"name", c.method}})->generate(backbone, r);
    ASSERT_EQ(out.videos.size(2), 5) << c.method;
    for (int64_t i = 0; i < r.count; ++i) {
      const at::Tensor ref = video_to_tensor(r.references[size_t(i)].video);
      for (int64_t f = 0; f < 5; ++f) {
        const bool pinned = std::find(c.pinned.begin(), c.pinned.end(), f) != c.pinned.end();
        EXPECT_EQ(at::equal(out.videos[i].select(1, f), ref.select(1, f)), pinned) << c.method << " video " << i << " frame " << f;
      }
      // Stored as uint8, the pinned frames are the reference clip's pixels.
      const Video stored = tensor_to_video(out.videos[i]);
      for (int64_t f : c.pinned)
        EXPECT_TRUE(std::equal(stored.frame(int(f)), stored.frame(int(f)) + stored.frame_size(),
                               r.references[size_t(i)].video.frame(int(f))));
    }
    const Json& s = out.stats.at("fvdm");
    EXPECT_EQ(s.at("pinned_frames").get<std::vector<int64_t>>(), c.pinned) << c.method;
    EXPECT_EQ(s.at("pinned_max_abs_diff").get<double>(), 0.0) << c.method;
    EXPECT_EQ(s.at("pinned_float_equal_share").get<double>(), 1.0) << c.method;
    EXPECT_EQ(s.at("pinned_uint8_equal_share").get<double>(), 1.0) << c.method;
    EXPECT_EQ(s.at("pinned_pairs").get<int64_t>(), 3 * int64_t(c.pinned.size())) << c.method;
  }
}

TEST(FvdmTasks, ProgressiveFramesStartFromTheImageNoisedToTheirOwnTimestep) {
  // With c = 0.25 and 5 frames, frame 1 starts at t = 249.75: far closer to the image than frame 4 at 999.
  const GenerateRequest r = request_with_references(2, 5);
  RecordingBackbone backbone;
  const GenerateResult out = make_method("fvdm-progressive", {{"name", "fvdm-progressive"}, {"c", 0.25}})->generate(backbone, r);
  for (int64_t i = 0; i < r.count; ++i) {
    const at::Tensor image = video_to_tensor(r.references[size_t(i)].video).select(1, 0);
    const double near = (out.videos[i].select(1, 1) - image).abs().mean().item<double>();
    const double far = (out.videos[i].select(1, 4) - image).abs().mean().item<double>();
    EXPECT_LT(near, far) << i;
  }
}

// A batch of `count` videos through a pipeline whose run_batch generates a long video, keeping the chunks.
struct LongRun {
  std::vector<std::vector<at::Tensor>> chunks;  // per batch
  GenerateResult result;
};

LongRun run_long(Backbone& backbone, const LongVideoPlan& plan, const GenerateRequest& r) {
  PipelineParts parts;
  register_builtin_methods();
  parts.sampler = sampler_registry().make_resolved(
      sampler_registry().resolve(Json{{"name", "ddim"}, {"steps", 4}, {"spacing", "linspace"}}, "sampler"), "sampler");
  parts.noise = noise_registry().make("iid", Json::object(), "noise");
  GenerationPipeline pipeline(parts);
  LongRun run;
  pipeline.run_batch = [&](BatchJob& job, const BatchRunner& runner) {
    run.chunks.push_back(run_long_video_chunks(job, runner, plan, *parts.noise, r.seed));
    return assemble_long_video(run.chunks.back(), plan);
  };
  run.result = pipeline.generate(backbone, r);
  return run;
}

TEST(FvdmLongVideo, FourChunksCarryThePreviousChunksLastFramesBitwise) {
  // F = 4, M = 2, L = 10: chunk 0 gives frames 0-3, chunks 1, 2, 3 two new frames each.
  const LongVideoPlan plan = LongVideoPlan::make(4, 2, 10, "variant");
  ASSERT_EQ(plan.chunks(), 4);
  const GenerateRequest r = request_with_references(3, 4, 5);
  RecordingBackbone backbone;
  const LongRun run = run_long(backbone, plan, r);
  ASSERT_EQ(run.chunks.size(), 2u);  // batches of 2 and 1
  for (const auto& chunks : run.chunks) {
    ASSERT_EQ(chunks.size(), 4u);
    for (size_t k = 1; k < chunks.size(); ++k) {
      EXPECT_TRUE(at::equal(chunks[k].narrow(2, 0, 2), chunks[k - 1].narrow(2, 2, 2))) << "chunk " << k;
      // Each chunk draws its own noise: its new frames are not the previous chunk's.
      EXPECT_FALSE(at::equal(chunks[k].narrow(2, 2, 2), chunks[k - 1].narrow(2, 2, 2))) << "chunk " << k;
    }
    const OverlapCheck check = check_overlaps(chunks, plan);
    EXPECT_EQ(check.max_abs_diff, 0.0);
    EXPECT_EQ(check.equal_share, 1.0);
    EXPECT_EQ(check.frames_checked, 3 * 2 * chunks[0].size(0));
  }
  // The assembled video: chunk 0, then the two new frames of each later chunk.
  const at::Tensor& video = run.result.videos;
  ASSERT_EQ(video.size(2), 10);
  const auto& c = run.chunks[0];
  const at::Tensor expected = at::cat({c[0], c[1].narrow(2, 2, 2), c[2].narrow(2, 2, 2), c[3].narrow(2, 2, 2)}, 2);
  EXPECT_TRUE(at::equal(video.narrow(0, 0, 2), expected));
  // The network saw t = 0 on the two context frames of chunks 1 to 3 at every step, and the sampler's t on the rest.
  ASSERT_EQ(backbone.calls.size(), 2u * 4u * 4u);  // batches x chunks x steps
  const at::Tensor chunk_table = table({{0, 0, 999, 999}, {0, 0, 666, 666}, {0, 0, 333, 333}, {0, 0, 0, 0}});
  for (size_t k = 1; k < 4; ++k) EXPECT_TRUE(at::equal(seen(backbone, 0, 4 * k), chunk_table)) << "chunk " << k;
}

TEST(FvdmLongVideo, RegisteredMethodMakesAnyLengthAndReportsItsOverlaps) {
  const GenerateRequest r = request_with_references(2, 4, 9);
  RecordingBackbone backbone;
  // L = 9 with F = 4, M = 1: chunks of 3 new frames, 1 + ceil(5 / 3) = 3 chunks, cut to 9 frames.
  const GenerateResult out =
      make_method("fvdm-long-video", {{"name", "fvdm-long-video"}, {"length", 9}, {"context", 1}})->generate(backbone, r);
  EXPECT_EQ(out.videos.size(2), 9);
  const Json& s = out.stats.at("fvdm");
  EXPECT_EQ(s.at("chunks"), 3);
  EXPECT_EQ(s.at("context"), 1);
  EXPECT_EQ(s.at("overlap_max_abs_diff").get<double>(), 0.0);
  EXPECT_EQ(s.at("overlap_equal_share").get<double>(), 1.0);
  EXPECT_EQ(s.at("overlap_frames_checked"), 2 * 2);
  EXPECT_EQ(out.nfe, 3 * 4);  // every chunk's steps
  // The same seed gives the same long videos; another seed others.
  RecordingBackbone again;
  const GenerateResult same =
      make_method("fvdm-long-video", {{"name", "fvdm-long-video"}, {"length", 9}, {"context", 1}})->generate(again, r);
  EXPECT_TRUE(at::equal(out.videos, same.videos));
  GenerateRequest other = r;
  other.seed = 10;
  EXPECT_FALSE(at::equal(out.videos,
                         make_method("fvdm-long-video", {{"name", "fvdm-long-video"}, {"length", 9}, {"context", 1}})
                             ->generate(again, other)
                             .videos));
  // The default context is half the chunk.
  const GenerateResult half = make_method("fvdm-long-video", {{"name", "fvdm-long-video"}, {"length", 8}})->generate(again, r);
  EXPECT_EQ(half.stats.at("fvdm").at("context"), 2);
  EXPECT_EQ(half.stats.at("fvdm").at("chunks"), 3);
}

TEST(FvdmTasks, BadSettingsAreOneErrorNamingTheField) {
  RecordingBackbone backbone;
  const GenerateRequest r = request_with_references(1, 4);
  auto message = [&](const std::string& method, const Json& params, const GenerateRequest& req) {
    try {
      Json p = params;
      p["name"] = method;
      make_method(method, p)->generate(backbone, req);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("fvdm-long-video", {{"context", 4}}, r).find("variant.context"), std::string::npos);
  EXPECT_NE(message("fvdm-long-video", {{"length", 3}}, r).find("variant.length"), std::string::npos);
  EXPECT_NE(message("fvdm-progressive", {{"c", 0.0}}, r).find("variant.c"), std::string::npos);
  EXPECT_NE(message("fvdm-interpolation", Json::object(), request_with_references(1, 2)).find("interpolation"),
            std::string::npos);
  GenerateRequest no_refs = r;
  no_refs.references.clear();
  EXPECT_NE(message("fvdm-image-to-video", Json::object(), no_refs).find("reference clip"), std::string::npos);
}

}  // namespace
}  // namespace vdlab
