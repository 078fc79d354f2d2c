// Scoring two folders of real clips (Debian's opencv-doc videos) as `vdlab metrics` does: values, the
// reference-statistics cache reused on a second call and invalidated by another extractor.
#include <gtest/gtest.h>

#include <filesystem>

#include "datasets/clip_source.h"
#include "datasets/clip_store.h"
#include "metrics/video_sets.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

const std::string kData = "/usr/share/doc/opencv-doc/examples/data/";

std::string clip_folder(const std::string& name, const std::vector<std::string>& files) {
  const std::string dir = test::scratch_dir(name);
  for (const auto& f : files) std::filesystem::create_symlink(kData + f, dir + "/" + f);
  return dir;
}

const MetricValue& find(const std::vector<MetricValue>& values, const std::string& key) {
  for (const auto& v : values)
    if (v.key == key) return v;
  throw std::runtime_error("no value " + key);
}

TEST(MetricSpecs, ParseKeysIntoParameters) {
  EXPECT_EQ(parse_metric_spec("mm").first, "mm");
  const auto fvd = parse_metric_spec("fvd[tiny-i3d/center-crop/f8/unbiased]");
  EXPECT_EQ(fvd.first, "fvd");
  EXPECT_EQ(fvd.second, (Json{{"extractor", "tiny-i3d"}, {"protocol", "center-crop"}, {"frames", 8},
                              {"estimator", "unbiased"}}));
  EXPECT_EQ(parse_metric_spec("clip_sim[clip-vit-b32/x100/clamped]").second, (Json{{"scale", 100.0}, {"clamp", true}}));
  EXPECT_THROW(parse_metric_spec("fvd[i3d"), ConfigError);
  MetricContext ctx;
  VideoSet s;
  EXPECT_THROW(score_video_sets(s, s, {"fvd[i3d/center-crop]", "fvdd"}, ctx), ConfigError);
  EXPECT_THROW(score_video_sets(s, s, {"mm[tiny-i3d]"}, ctx), ConfigError);  // mm takes no extractor
}

TEST(VideoSets, MissingOrEmptySourcesAreClearErrors) {
  EXPECT_THROW(load_video_set("/nonexistent/folder", {}), IoError);
  EXPECT_THROW(load_video_set(test::scratch_dir("no-videos"), {}), IoError);
}

TEST(VideoSets, HdfClipStoresAreSources) {
  register_builtin_datasets();
  const std::string dir = test::scratch_dir("clip-stores");
  for (const char* split : {"test", "val"}) {
    auto shapes = make_dataset(Json{{"name", "moving-shapes"}, {"split", split}, {"clips", 6}, {"frames", 16}});
    export_clip_store(*shapes, dir + "/" + split + ".h5");
  }
  VideoSourceOptions o;
  const VideoSet real = load_video_set(dir + "/test.h5", o), fake = load_video_set(dir + "/val.h5", o);
  ASSERT_EQ(real.size(), 6u);
  EXPECT_FALSE(real.content_hash.empty());
  EXPECT_FALSE(real.captions[0].empty());
  MetricContext ctx;
  const auto values = score_video_sets(real, fake, {"mm", "stability"}, ctx);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_GT(values[0].value, 0.0);
  EXPECT_EQ(values[1].value, 1.0);
  o.limit = 2;
  EXPECT_EQ(load_video_set(dir + "/test.h5", o).size(), 2u);
}

TEST(VideoSetsRealdata, TwoFoldersOfRealClipsWithCachedReferenceStatistics) {
  if (!std::filesystem::exists(kData + "vtest.avi")) GTEST_SKIP() << "opencv-doc is not installed";
  const std::string real_dir = clip_folder("real-clips", {"vtest.avi", "Megamind.avi", "tree.avi"});
  const std::string fake_dir = clip_folder("fake-clips", {"Megamind_bugy.avi", "tree.avi"});
  VideoSourceOptions o;
  o.read.frames = 16;
  o.read.size = 48;
  const VideoSet real = load_video_set(real_dir, o), fake = load_video_set(fake_dir, o);
  ASSERT_EQ(real.size(), 3u);
  ASSERT_EQ(fake.size(), 2u);
  EXPECT_TRUE(real.is_streamed());  // decoded as the metrics read them
  real.for_each([](std::size_t, const Video& v) {
    EXPECT_EQ(v.height, 48);
    EXPECT_EQ(v.frames, 16);
  });

  MetricContext ctx;
  ctx.weights_dir = test::test_weights_dir("realdata-weights-a");
  ctx.cache_dir = test::scratch_dir("realdata-cache");
  const std::vector<std::string> specs = {"fid", "fvd", "fc", "mm", "flow_motion", "stability", "clip_sim"};
  const auto first = score_video_sets(real, fake, specs, ctx);
  for (const char* key : {"fid[inception-2015-12-05]", "fvd[i3d]", "fc[clip-vit-b32]", "mm", "flow_motion",
                          "motion_dynamics[vs-real]", "stability"}) {
    const MetricValue& v = find(first, key);
    EXPECT_FALSE(v.skipped) << key << ": " << v.skip_reason;
    EXPECT_TRUE(std::isfinite(v.value)) << key;
  }
  EXPECT_TRUE(find(first, "clip_sim[clip-vit-b32]").skipped);  // the folders carry no captions
  EXPECT_GT(find(first, "mm").value, 0.0);
  EXPECT_EQ(find(first, "fid[inception-2015-12-05]").protocol.at("reference_stats"), "computed");

  const auto second = score_video_sets(real, fake, {"fid", "fvd"}, ctx);
  EXPECT_EQ(find(second, "fid[inception-2015-12-05]").protocol.at("reference_stats"), "cached");
  EXPECT_EQ(find(second, "fvd[i3d]").protocol.at("reference_stats"), "cached");
  EXPECT_DOUBLE_EQ(find(second, "fvd[i3d]").value, find(first, "fvd[i3d]").value);

  ctx.weights_dir = test::test_weights_dir("realdata-weights-b", "image_extractor_b.pt");
  const auto third = score_video_sets(real, fake, {"fid"}, ctx);
  EXPECT_EQ(find(third, "fid[inception-2015-12-05]").protocol.at("reference_stats"), "computed");
}

}  // namespace
}  // namespace vdlab
