// tiny-i3d sees motion: trained with a frame-order objective (and speed classes on moving-shapes),
// optionally on the evaluation domain's own clips, keyed by its training data; a warning names a domain
// mismatch. The Slow suite measures FVD of a set against a frame-shuffled copy and against a re-encoded
// (JPEG) copy, on moving-shapes and on real clips (Debian's opencv-doc videos cut into 16-frame pieces).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "core/error.h"
#include "core/hash.h"
#include "datasets/clip_source.h"
#include "datasets/video_io.h"
#include "metrics/builtin_metrics.h"
#include "metrics/extractors/tiny_extractors.h"
#include "metrics/extractors/training_domain.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

const char* kOpencvData = "/usr/share/doc/opencv-doc/examples/data";

// A UCF-101 layout of 16-frame pieces of the opencv-doc videos at 64x64: <root>/<Video>/<Video>_<k>.mp4,
// even pieces in trainlist01.txt, odd ones in testlist01.txt. Returns "" when the videos are not installed.
std::string opencv_pieces(const std::string& name, int max_pieces_per_video) {
  if (!fs::exists(std::string(kOpencvData) + "/vtest.avi")) return "";
  const std::string root = test::scratch_dir(name);
  std::ofstream train(root + "/trainlist01.txt"), test(root + "/testlist01.txt");
  for (const std::string video : {"Megamind", "tree", "vtest"}) {
    const std::string path = std::string(kOpencvData) + "/" + video + ".avi";
    fs::create_directories(root + "/" + video);
    for (int k = 0; k < max_pieces_per_video; ++k) {
      ReadOptions o;
      o.frames = 16;
      o.start = 16 * k;
      o.size = 64;
      Video piece;
      try {
        piece = read_video(path, o);
      } catch (const IoError&) {
        break;  // past the last full piece (containers may report more frames than they decode)
      }
      const std::string rel = video + "/" + video + "_" + std::to_string(k) + ".mp4";
      write_video(piece, root + "/" + rel);
      (k % 2 == 0 ? train : test) << rel << "\n";
    }
  }
  return root;
}

VideoSet set_of(const Json& dataset) {
  register_builtin_datasets();
  auto source = make_dataset(dataset);
  VideoSet s;
  for (const Clip& c : load_all(*source)) s.videos.push_back(c.video);
  s.content_hash = source->content_hash();
  s.source = dataset;
  return s;
}

// The same videos with every video's frames in a random (seeded) order.
VideoSet frame_shuffled(const VideoSet& s) {
  VideoSet out;
  std::mt19937_64 rng(17);
  for (const Video& v : s.videos) {
    std::vector<int> order(std::size_t(v.frames));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    Video w(v.frames, v.height, v.width);
    for (int f = 0; f < v.frames; ++f) std::copy(v.frame(order[std::size_t(f)]), v.frame(order[std::size_t(f)]) + v.frame_size(), w.frame(f));
    out.videos.push_back(std::move(w));
  }
  out.content_hash = "shuffled-" + s.content_hash;
  return out;
}

// The same videos with every frame JPEG-encoded (quality 90) and decoded again.
VideoSet jpeg_reencoded(const VideoSet& s) {
  VideoSet out;
  for (const Video& v : s.videos) {
    Video w(v.frames, v.height, v.width);
    for (int f = 0; f < v.frames; ++f) {
      const cv::Mat frame(v.height, v.width, CV_8UC3, const_cast<std::uint8_t*>(v.frame(f)));
      std::vector<std::uint8_t> bytes;
      cv::imencode(".jpg", frame, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
      const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
      std::copy(decoded.data, decoded.data + w.frame_size(), w.frame(f));
    }
    out.videos.push_back(std::move(w));
  }
  out.content_hash = "jpeg90-" + s.content_hash;
  return out;
}

TEST(TrainingDomainTest, DomainsOfDatasetConfigsAndVideoSetSources) {
  EXPECT_EQ(domain_of(Json{{"name", "moving-shapes"}, {"split", "test"}}), "moving-shapes");
  EXPECT_EQ(domain_of(Json{{"name", "video-folder"}, {"root", "/data/ucf/"}}), "video-folder:/data/ucf/");
  EXPECT_EQ(domain_of(Json{{"kind", "video-folder"}, {"path", "/data/ucf"}}), "video-folder:/data/ucf");
  EXPECT_EQ(domain_of(Json{{"kind", "hdf5"}, {"dataset", {{"name", "moving-shapes"}}}}), "moving-shapes");
  EXPECT_EQ(domain_of(Json{{"cell", "abc"}}), "");
  EXPECT_EQ(domain_of(Json::object()), "");
  const Json shapes{{"name", "moving-shapes"}};
  const Json folder{{"name", "video-folder"}, {"root", "/data/ucf"}};
  EXPECT_EQ(domain_warning("tiny-i3d", shapes, shapes), "");
  EXPECT_EQ(domain_warning("tiny-i3d", shapes, Json{{"cell", "abc"}}), "");  // unknown: no claim
  EXPECT_NE(domain_warning("tiny-i3d", shapes, folder).find("tiny-i3d was trained on moving-shapes"), std::string::npos);
  EXPECT_EQ(domain_warning("tiny-i3d", folder, Json{{"kind", "video-folder"}, {"path", "/data/ucf/Walk"}}), "");
  EXPECT_NE(domain_warning("tiny-i3d", folder, Json{{"kind", "video-folder"}, {"path", "/data/ucf2"}}), "");
}

TEST(TinyI3dTemporalIntegration, KeyedByItsTrainingDataAndRecordedWithTheValue) {
  const std::string cache = test::scratch_dir("tiny-i3d-data-cache");
  const Json quick = {{"steps", 3}, {"clips", 16}, {"batch", 8}};
  const TinyTrainConfig shapes = TinyTrainConfig::make("tiny-i3d", quick);
  EXPECT_EQ(shapes.train_data().at("name"), "moving-shapes");
  Json other = quick;
  other["data"] = {{"name", "moving-shapes"}, {"split", "train"}, {"clips", 16}, {"seed", 3}};
  const TinyTrainConfig other_data = TinyTrainConfig::make("tiny-i3d", other);
  EXPECT_NE(config_hash(other_data.to_json()), config_hash(shapes.to_json()));
  const TinyTrainResult r = ensure_tiny_extractor(other_data, cache);
  EXPECT_TRUE(r.trained);
  EXPECT_NE(r.path, ensure_tiny_extractor(shapes, cache).path);
  EXPECT_THROW(TinyTrainConfig::make("tiny-i3d", {{"data", "moving-shapes"}}), ConfigError);
  EXPECT_THROW(TinyTrainConfig::make("tiny-inception", {{"data", Json{{"name", "moving-shapes"}}}}), ConfigError);

  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = cache;
  const VideoSet real = set_of({{"name", "moving-shapes"}, {"split", "test"}, {"clips", 6}});
  const auto fvd = metric_registry().make("fvd", Json{{"extractor", "tiny-i3d"}, {"tiny_train", other}}, "fvd")
                       ->compute(real, frame_shuffled(real), ctx);
  ASSERT_FALSE(fvd[0].skipped) << fvd[0].skip_reason;
  EXPECT_EQ(fvd[0].protocol.at("extractor_trained_on").at("seed"), 3);
}

struct TemporalSensitivity {
  double shuffled = 0, reencoded = 0;
};

TemporalSensitivity measure(const VideoSet& set, const Json& tiny_train, const std::string& cache, const char* label) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = cache;
  auto fvd = [&](const VideoSet& other) {
    const auto v = metric_registry().make("fvd", Json{{"extractor", "tiny-i3d"}, {"tiny_train", tiny_train}}, "fvd")
                       ->compute(set, other, ctx);
    EXPECT_FALSE(v[0].skipped) << v[0].skip_reason;
    return v[0].value;
  };
  TemporalSensitivity t;
  t.shuffled = fvd(frame_shuffled(set));
  t.reencoded = fvd(jpeg_reencoded(set));
  std::printf("[ %s ] %zu clips: FVD vs frame-shuffled copy %.3f, vs JPEG-90 re-encoded copy %.3f, ratio %.1f\n",
              label, set.videos.size(), t.shuffled, t.reencoded, t.shuffled / std::max(t.reencoded, 1e-12));
  return t;
}

TEST(TinyI3dTemporalSlow, FrameShufflingMovesFvdFarMoreThanReencoding) {
  const std::string cache = test::scratch_dir("tiny-i3d-temporal");
  const auto start = std::chrono::steady_clock::now();
  const TinyTrainResult r = ensure_tiny_extractor(TinyTrainConfig::make("tiny-i3d"), cache);
  std::printf("[ tiny-i3d ] moving-shapes: trained in %.1f s; held-out shape %.3f, direction %.3f, speed %.3f, "
              "frame order %.3f\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), r.accuracy,
              r.direction_accuracy, r.speed_accuracy, r.order_accuracy);
  EXPECT_GT(r.order_accuracy, 0.9);
  // Its other labels stay learnt well above chance (shape 1/3, direction 1/8; TinyExtractorsSlow's bounds).
  EXPECT_GT(r.accuracy, 0.55);
  EXPECT_GT(r.direction_accuracy, 0.3);
  const TemporalSensitivity shapes =
      measure(set_of({{"name", "moving-shapes"}, {"split", "test"}, {"clips", 128}}), Json::object(), cache,
              "moving-shapes, tiny-i3d trained on moving-shapes");
  EXPECT_GT(shapes.shuffled, 5.0 * shapes.reencoded);

  const std::string root = opencv_pieces("opencv-pieces", 40);
  if (root.empty()) GTEST_SKIP() << kOpencvData << " is not installed (Debian package opencv-doc)";
  const Json train{{"name", "video-folder"}, {"root", root}, {"split", "train"}};
  const Json test{{"name", "video-folder"}, {"root", root}, {"split", "test"}};
  const VideoSet real = set_of(test);
  // The moving-shapes extractor on real clips, for comparison (the domain warning is logged).
  measure(real, Json::object(), cache, "opencv-doc pieces, tiny-i3d trained on moving-shapes");
  const auto start_real = std::chrono::steady_clock::now();
  const Json own{{"data", train}, {"steps", 400}};
  const TinyTrainResult rr = ensure_tiny_extractor(TinyTrainConfig::make("tiny-i3d", own), cache);
  std::printf("[ tiny-i3d ] opencv-doc train pieces: trained in %.1f s; frame-order accuracy %.3f\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start_real).count(), rr.order_accuracy);
  const TemporalSensitivity pieces = measure(real, own, cache, "opencv-doc pieces, tiny-i3d trained on their train split");
  EXPECT_GT(pieces.shuffled, 5.0 * pieces.reencoded);
}

}  // namespace
}  // namespace vdlab
