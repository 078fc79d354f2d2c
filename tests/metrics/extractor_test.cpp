// Extractors loaded from TorchScript: the standard interfaces (small modules scripted with python3-torch,
// scripts/reference/metrics_test_extractors.py), hashes recorded, missing files skipped, wrong
// interfaces refused with a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/hash.h"
#include "metrics/builtin_metrics.h"
#include "metrics/extractors/extractor.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

using test::extractor_fixture;

TEST(Extractor, ImageInterfaceGivesFeaturesPerFrame) {
  auto ex = Extractor::load(extractor_fixture("image_extractor.pt"), ExtractorInterface::image, "inception-2015-12-05");
  EXPECT_EQ(ex->info().sha256, sha256_file(extractor_fixture("image_extractor.pt")));
  const Video v = test::make_video(5, 20, 28, [](int f, int y, int x, int c) { return f * 10 + y * 3 + x + c; });
  const Features f = ex->frame_features(v, 2);  // batches of 2, 2 and 1 frames
  EXPECT_EQ(f.rows, 5);
  EXPECT_EQ(f.cols, 256);  // the test module's size; Inception's is 2048
  const Features whole = ex->frame_features(v, 64);
  // Batches of 2 and a batch of 5 are differently shaped BLAS calls, whose float results may differ in
  // the last bits (1e-7 on some machines): equal to float rounding, not bitwise.
  ASSERT_EQ(whole.data.size(), f.data.size());
  double worst = 0;
  for (std::size_t i = 0; i < f.data.size(); ++i)
    worst = std::max(worst, std::abs(double(whole.data[i]) - double(f.data[i])) / (1e-3 + std::abs(double(f.data[i]))));
  EXPECT_LT(worst, 1e-5);
  // The same batch shape is the same computation: bitwise.
  EXPECT_EQ(ex->frame_features(v, 2).data, f.data);
}

TEST(Extractor, VideoInterfaceBothProtocols) {
  auto ex = Extractor::load(extractor_fixture("video_extractor.pt"), ExtractorInterface::video, "i3d");
  const Video v = test::make_video(20, 24, 32, [](int f, int y, int x, int c) { return f * 5 + y + x * c; });
  const Features raw = ex->clip_features({&v, &v}, {0, 4}, 16, VideoInput::raw_0_255);
  EXPECT_EQ(raw.rows, 2);
  EXPECT_EQ(raw.cols, 400);
  EXPECT_NE(std::vector<float>(raw.row(0), raw.row(0) + 400), std::vector<float>(raw.row(1), raw.row(1) + 400));
  const Features crop = ex->clip_features({&v}, {0}, 16, VideoInput::center_crop_224);
  EXPECT_EQ(crop.cols, 400);
  EXPECT_THROW(ex->clip_features({&v}, {8}, 16, VideoInput::raw_0_255), ConfigError);  // past the last frame
}

TEST(Extractor, ClipInterfaceGivesUnitEmbeddings) {
  auto ex = Extractor::load(extractor_fixture("clip_extractor.pt"), ExtractorInterface::clip, "clip-vit-b32");
  const Video v = test::make_video(3, 30, 40, [](int f, int y, int x, int c) { return 40 * f + y + x + 9 * c; });
  const Features img = ex->clip_image_embeddings(v);
  ASSERT_EQ(img.rows, 3);
  ASSERT_EQ(img.cols, 512);
  double norm = 0;
  for (int i = 0; i < 512; ++i) norm += double(img.row(1)[i]) * img.row(1)[i];
  EXPECT_NEAR(norm, 1.0, 1e-5);
  const Features txt = ex->clip_text_embeddings({std::vector<std::int64_t>(77, 0), std::vector<std::int64_t>(77, 5)});
  EXPECT_EQ(txt.rows, 2);
  EXPECT_EQ(txt.cols, 512);
}

TEST(Extractor, WrongInterfaceIsAClearError) {
  for (auto interface : {ExtractorInterface::image, ExtractorInterface::video, ExtractorInterface::clip}) {
    try {
      Extractor::load(extractor_fixture("wrong_interface.pt"), interface, "x");
      FAIL() << "loaded a module with the wrong interface";
    } catch (const ExtractorError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("wrong_interface.pt"), std::string::npos) << what;
      EXPECT_NE(what.find("not a"), std::string::npos) << what;
    }
  }
  // An image module is not a video module: it lacks rescale and resize.
  EXPECT_THROW(Extractor::load(extractor_fixture("image_extractor.pt"), ExtractorInterface::video, "i3d"),
               ExtractorError);
}

TEST(Extractor, MissingOrCorruptFilesAreIoErrors) {
  EXPECT_THROW(Extractor::load("/nonexistent/inception.pt", ExtractorInterface::image, "x"), IoError);
  EXPECT_THROW(Extractor::load(test::metrics_fixture("frechet_cases.json"), ExtractorInterface::image, "x"), IoError);
}

TEST(ExtractorMetrics, MissingExtractorIsSkippedWithTheReason) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::scratch_dir("empty-weights");
  const VideoSet s = test::varied_set(3, 16, 16, 1);
  for (const char* name : {"fid", "fvd", "clip_sim", "fc"}) {
    auto m = metric_registry().make(name, Json::object(), name);
    const auto values = m->compute(s, s, ctx);
    ASSERT_EQ(values.size(), 1u) << name;
    EXPECT_TRUE(values[0].skipped) << name;
    EXPECT_NE(values[0].skip_reason.find(ctx.weights_dir), std::string::npos) << values[0].skip_reason;
    EXPECT_TRUE(std::isnan(values[0].value));
  }
  ctx.weights_dir.clear();
  const auto v = metric_registry().make("fid", Json::object(), "fid")->compute(s, s, ctx);
  EXPECT_TRUE(v[0].skipped);
  EXPECT_NE(v[0].skip_reason.find("no weights folder"), std::string::npos);
}

TEST(ExtractorMetrics, WrongInterfaceInTheWeightsFolderIsAnError) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::scratch_dir("wrong-weights");
  std::filesystem::copy_file(extractor_fixture("wrong_interface.pt"), ctx.weights_dir + "/i3d_torchscript.pt");
  const VideoSet s = test::varied_set(2, 16, 16, 2);
  EXPECT_THROW(metric_registry().make("fvd", Json::object(), "fvd")->compute(s, s, ctx), ExtractorError);
}

TEST(ExtractorMetrics, ValuesRecordTheExtractorHash) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::test_weights_dir("hash-weights");
  const VideoSet real = test::varied_set(3, 16, 16, 3), fake = test::varied_set(3, 16, 16, 4);
  const std::pair<const char*, const char*> cases[] = {{"fid", "inception-2015-12-05.pt"},
                                                       {"fvd", "i3d_torchscript.pt"},
                                                       {"clip_sim", "clip-vit-b32.pt"},
                                                       {"fc", "clip-vit-b32.pt"}};
  for (const auto& c : cases) {
    const auto values = metric_registry().make(c.first, Json::object(), c.first)->compute(real, fake, ctx);
    ASSERT_FALSE(values.empty());
    const MetricValue& v = values[0];
    ASSERT_FALSE(v.skipped) << v.key << ": " << v.skip_reason;
    EXPECT_TRUE(std::isfinite(v.value)) << v.key;
    EXPECT_EQ(v.protocol.at("extractor").at("sha256"), sha256_file(ctx.weights_dir + "/" + c.second)) << v.key;
  }
}

}  // namespace
}  // namespace vdlab
