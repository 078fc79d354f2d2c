// vdlab's own tiny extractors: trained on moving-shapes, exported with the standard interfaces, cached by
// config hash, and named in the metric keys. Short training configs keep this fast.
#include <gtest/gtest.h>

#include <chrono>

#include "core/hash.h"
#include "datasets/clip_source.h"
#include "metrics/builtin_metrics.h"
#include "metrics/extractors/extractor.h"
#include "metrics/extractors/tiny_extractors.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

const Json kQuick = {{"steps", 10}, {"clips", 16}, {"batch", 8}};

VideoSet shapes_set(const std::string& split, int clips) {
  register_builtin_datasets();
  auto source = make_dataset(Json{{"name", "moving-shapes"}, {"split", split}, {"clips", clips}});
  VideoSet s;
  for (const Clip& c : load_all(*source)) {
    s.videos.push_back(c.video);
    s.captions.push_back(c.caption);
  }
  s.content_hash = source->content_hash();
  return s;
}

TEST(TinyExtractorsIntegration, TrainedOnceExportedWithTheStandardInterfaces) {
  const std::string cache = test::scratch_dir("tiny-cache");
  for (const std::string name : {"tiny-inception", "tiny-i3d"}) {
    const TinyTrainConfig config = TinyTrainConfig::make(name, kQuick);
    const TinyTrainResult first = ensure_tiny_extractor(config, cache);
    EXPECT_TRUE(first.trained);
    EXPECT_TRUE(std::isfinite(first.final_loss));
    const TinyTrainResult again = ensure_tiny_extractor(config, cache);
    EXPECT_FALSE(again.trained);
    EXPECT_EQ(again.path, first.path);
    const auto interface = name == "tiny-i3d" ? ExtractorInterface::video : ExtractorInterface::image;
    auto ex = Extractor::load(first.path, interface, name);
    const VideoSet s = shapes_set("test", 2);
    const Features f = name == "tiny-i3d" ? ex->clip_features({&s.videos[0], &s.videos[1]}, {0, 0}, 16,
                                                              VideoInput::raw_0_255)
                                          : ex->frame_features(s.videos[0]);
    EXPECT_EQ(f.cols, 64);
    EXPECT_EQ(f.rows, name == "tiny-i3d" ? 2 : 16);
  }
  // Another training config is another file.
  const TinyTrainResult other = ensure_tiny_extractor(TinyTrainConfig::make("tiny-i3d", {{"steps", 3}, {"clips", 16}}), cache);
  EXPECT_TRUE(other.trained);
  EXPECT_THROW(TinyTrainConfig::make("tiny-i3d", {{"stepz", 3}}), ConfigError);
  EXPECT_THROW(TinyTrainConfig::make("tiny-clip"), ConfigError);
}

TEST(TinyExtractorsIntegration, MetricKeysNameTheTinyExtractors) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = test::scratch_dir("tiny-metrics-cache");
  const VideoSet real = shapes_set("test", 12), fake = shapes_set("val", 12);
  const auto fvd = metric_registry().make("fvd", Json{{"extractor", "tiny-i3d"}, {"tiny_train", kQuick}}, "fvd")
                       ->compute(real, fake, ctx);
  ASSERT_FALSE(fvd[0].skipped) << fvd[0].skip_reason;
  EXPECT_EQ(fvd[0].key, "fvd[tiny-i3d]");
  EXPECT_GT(fvd[0].value, 0.0);
  EXPECT_EQ(fvd[0].protocol.at("extractor").at("sha256"),
            sha256_file(fvd[0].protocol.at("extractor").at("path").get<std::string>()));
  // 16-frame clips leave no room for random offsets: the set against itself scores 0.
  const auto self = metric_registry().make("fvd", Json{{"extractor", "tiny-i3d"}, {"tiny_train", kQuick}}, "fvd")
                        ->compute(real, real, ctx);
  EXPECT_EQ(self[0].protocol.at("reference_stats"), "cached");
  EXPECT_NEAR(self[0].value, 0.0, 1e-8);
  const auto fid = metric_registry().make("fid", Json{{"extractor", "tiny-inception"}, {"tiny_train", kQuick}}, "fid")
                       ->compute(real, fake, ctx);
  EXPECT_EQ(fid[0].key, "fid[tiny-inception]");
  EXPECT_GT(fid[0].value, 0.0);
  // Without a cache folder there is nowhere to train into: skipped, with the reason.
  MetricContext bare;
  const auto skipped = metric_registry().make("fid", Json{{"extractor", "tiny-inception"}}, "fid")->compute(real, fake, bare);
  EXPECT_TRUE(skipped[0].skipped);
}

}  // namespace
}  // namespace vdlab

namespace vdlab {
namespace {

// The default training configs (the ones `fid[tiny-inception]` and `fvd[tiny-i3d]` use) learn their labels
// well above chance (shape 1/3, direction 1/8) on held-out moving-shapes clips.
TEST(TinyExtractorsSlow, DefaultConfigsLearnTheShapes) {
  const std::string cache = test::scratch_dir("tiny-default");
  for (const std::string name : {"tiny-inception", "tiny-i3d"}) {
    const auto start = std::chrono::steady_clock::now();
    const TinyTrainResult r = ensure_tiny_extractor(TinyTrainConfig::make(name), cache);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ %s ] trained in %.1f s, held-out shape accuracy %.3f, direction accuracy %.3f, final loss %.3f\n",
                name.c_str(), seconds, r.accuracy, r.direction_accuracy, r.final_loss);
    EXPECT_TRUE(r.trained);
    // tiny-i3d's 64 features also serve the frame-order and speed heads: its shape accuracy on held-out
    // clips (half of them frame-shuffled) is lower than a shape-only classifier's, still well above 1/3.
    EXPECT_GT(r.accuracy, name == "tiny-i3d" ? 0.55 : 0.9) << name;
    if (name == "tiny-i3d") {
      EXPECT_GT(r.direction_accuracy, 0.3);
    }
  }
}

}  // namespace
}  // namespace vdlab
