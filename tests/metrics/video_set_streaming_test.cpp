// Streamed video sets: read on demand a batch at a time, scored exactly as the same set held in memory;
// metric keys that are valid HDF5 names; protocols that record every video's shape; stability that sees
// non-finite raw output.
#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <set>

#include "metrics/extractors/tiny_extractors.h"
#include "metrics/video_sets.h"
#include "metrics_support.h"
#include "results/cell_file.h"

namespace vdlab {
namespace {

// The in-memory set's videos, read through a reader that counts reads and the most videos alive at once.
struct CountingReader {
  std::shared_ptr<const VideoSet> held;
  std::shared_ptr<int> reads = std::make_shared<int>(0);
  VideoSet set() const {
    auto h = held;
    auto r = reads;
    VideoSet s = VideoSet::streamed(h->size(), [h, r](std::size_t i) {
      ++*r;
      return h->videos.at(i);
    });
    s.captions = h->captions;
    return s;
  }
};

TEST(StreamedVideoSet, ReadsEachBatchOnDemandInOrder) {
  const auto held = std::make_shared<const VideoSet>(test::varied_set(7, 3, 8, 1));
  CountingReader reader{held};
  const VideoSet s = reader.set();
  EXPECT_TRUE(s.is_streamed());
  EXPECT_EQ(s.size(), 7u);
  EXPECT_EQ(*reader.reads, 0);  // nothing read until a metric asks
  std::vector<std::size_t> firsts, sizes;
  s.for_each_batch(3, [&](std::size_t first, const std::vector<const Video*>& batch) {
    // Exactly this batch has been read so far: the set never reads ahead or holds earlier batches.
    EXPECT_EQ(*reader.reads, int(first + batch.size()));
    for (std::size_t k = 0; k < batch.size(); ++k) EXPECT_EQ(batch[k]->data, held->videos[first + k].data);
    firsts.push_back(first);
    sizes.push_back(batch.size());
  });
  EXPECT_EQ(firsts, (std::vector<std::size_t>{0, 3, 6}));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
  const Json shapes = s.video_shapes();
  ASSERT_EQ(shapes.size(), 7u);
  EXPECT_EQ(shapes[6], (Json{{"frames", 3}, {"height", 8}, {"width", 8}}));
}

TEST(StreamedVideoSet, ScoresLikeTheSameSetInMemory) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::test_weights_dir("stream-weights");
  const auto real = std::make_shared<const VideoSet>(test::varied_set(10, 16, 24, 3));
  const auto fake = std::make_shared<const VideoSet>(test::varied_set(9, 16, 24, 4));
  const VideoSet real_s = CountingReader{real}.set(), fake_s = CountingReader{fake}.set();
  for (const std::string spec : {"fid", "fvd[i3d,center-crop]", "fvd", "mm", "flow_motion", "stability"}) {
    ctx.cache_dir = test::scratch_dir("stream-cache-a");
    const auto in_memory = score_video_sets(*real, *fake, {spec}, ctx);
    ctx.cache_dir = test::scratch_dir("stream-cache-b");
    const auto streamed = score_video_sets(real_s, fake_s, {spec}, ctx);
    ASSERT_EQ(in_memory.size(), streamed.size()) << spec;
    for (std::size_t i = 0; i < in_memory.size(); ++i) {
      ASSERT_FALSE(streamed[i].skipped) << spec << ": " << streamed[i].skip_reason;
      EXPECT_EQ(in_memory[i].key, streamed[i].key);
      // Same videos, same batches: the same computation up to BLAS reassociation.
      EXPECT_NEAR(in_memory[i].value, streamed[i].value, 1e-6 * std::max(1.0, std::abs(in_memory[i].value))) << spec;
    }
  }
}

TEST(MetricKeys, OneSpellingThatIsAValidHdf5GroupName) {
  register_builtin_metrics();
  EXPECT_EQ(metric_key("fvd", {"tiny-i3d", "f8"}), "fvd[tiny-i3d,f8]");
  EXPECT_EQ(metric_key("mm", {}), "mm");
  MetricContext ctx;  // no weights: the keys come back with the skipped values
  const VideoSet s = test::varied_set(2, 8, 8, 1);
  const auto values = score_video_sets(s, s, {"fvd[i3d,center-crop,f8,biased]", "clip_sim[x100,clamped]", "fid[biased]"}, ctx);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0].key, "fvd[i3d,center-crop,f8,biased]");
  EXPECT_EQ(values[1].key, "clip_sim[clip-vit-b32,x100,clamped]");
  EXPECT_EQ(values[2].key, "fid[inception-2015-12-05,biased]");
  // A key read back as a spec gives the same metric (the older '/' spelling is still read).
  EXPECT_EQ(parse_metric_spec(values[0].key).second, parse_metric_spec("fvd[i3d/center-crop/f8/biased]").second);
  // The cell file's group is named by the key itself.
  CellRecord cell;
  cell.id = "keys";
  cell.hash = "0";
  cell.metrics = values;
  const std::string path = test::scratch_dir("keys") + "/cell.h5";
  write_cell(cell, path);
  H5::H5File file(path, H5F_ACC_RDONLY);
  H5::Group metrics = file.openGroup("metrics");
  std::set<std::string> groups;
  for (hsize_t i = 0; i < metrics.getNumObjs(); ++i) groups.insert(metrics.getObjnameByIdx(i));
  EXPECT_EQ(groups, (std::set<std::string>{values[0].key, values[1].key, values[2].key}));
  std::set<std::string> read_back;
  for (const auto& m : read_cell(path).metrics) read_back.insert(m.key);
  EXPECT_EQ(read_back, groups);
}

TEST(MetricProtocols, RecordEveryVideosShapeNotTheFirsts) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::test_weights_dir("shape-weights");
  ctx.cache_dir = test::scratch_dir("shape-cache");
  VideoSet real = test::varied_set(4, 16, 24, 1);
  VideoSet fake = test::varied_set(3, 16, 24, 2);
  fake.videos.push_back(test::varied_set(1, 20, 32, 3).videos[0]);  // another size and length
  const MetricValue fvd = score_video_sets(real, fake, {"fvd[i3d,center-crop]"}, ctx)[0];
  ASSERT_FALSE(fvd.skipped) << fvd.skip_reason;
  const Json shapes = fvd.protocol.at("fake").at("shapes");
  ASSERT_EQ(shapes.size(), 2u) << fvd.protocol.dump();
  EXPECT_EQ(shapes[0], (Json{{"frames", 16}, {"height", 24}, {"width", 24}, {"count", 3}}));
  EXPECT_EQ(shapes[1], (Json{{"frames", 20}, {"height", 32}, {"width", 32}, {"count", 1}}));
  EXPECT_EQ(fvd.protocol.at("fake").at("frames_total"), 3 * 16 + 20);
}

TEST(MetricCaches, TinyExtractorsAndStatisticsLiveUnderOneCacheFolder) {
  EXPECT_EQ(tiny_extractor_dir("/c"), "/c/extractors");
  EXPECT_EQ(reference_stats_dir("/c"), "/c/stats");
  EXPECT_EQ(tiny_extractor_dir(""), "");
}

TEST(HandChecks, StabilityCountsNonFiniteRawOutputAsUnstable) {
  register_builtin_metrics();
  // Three videos with clean pixels; the second one's raw output held NaN before it was replaced.
  VideoSet s = test::varied_set(3, 4, 16, 2);
  MetricContext ctx;
  auto stability = [&] { return metric_registry().make("stability", Json::object(), "stability")->compute(s, s, ctx)[0]; };
  EXPECT_EQ(stability().value, 1.0);
  s.non_finite = {false, true, false};
  const MetricValue v = stability();
  EXPECT_EQ(v.per_sample, (std::vector<double>{1.0, 0.0, 1.0}));
  EXPECT_EQ(v.protocol.at("non_finite_videos"), 1);
}

}  // namespace
}  // namespace vdlab
