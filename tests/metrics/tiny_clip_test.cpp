// tiny-clip: trained contrastively on moving-shapes frames and captions, exported with CLIP's interface,
// cached by config hash, and selectable as the extractor of clip_sim and fc. The fast tests use a few
// training steps; the Slow suite trains the default config and measures text alignment on colour-shape
// pairs the model never saw.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "core/hash.h"
#include "datasets/clip_source.h"
#include "metrics/builtin_metrics.h"
#include "metrics/extractors/extractor.h"
#include "metrics/extractors/tiny_clip.h"
#include "core/text/clip_tokenizer.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

const Json kQuick = {{"steps", 3}, {"clips", 8}, {"batch", 8}};

VideoSet shapes_set(const Json& overrides) {
  register_builtin_datasets();
  Json cfg = {{"name", "moving-shapes"}, {"split", "test"}, {"clips", 8}};
  cfg.update(overrides);
  auto source = make_dataset(cfg);
  VideoSet s;
  for (const Clip& c : load_all(*source)) {
    s.videos.push_back(c.video);
    s.captions.push_back(c.caption);
  }
  s.content_hash = source->content_hash();
  return s;
}

// A weights folder with only the tokenizer vocabulary (what tiny-clip needs from it).
std::string vocab_only_weights(const std::string& name) {
  const std::string dir = test::scratch_dir(name);
  std::filesystem::copy_file(test::clip_vocab(), dir + "/bpe_simple_vocab_16e6.txt.gz");
  return dir;
}

TEST(TinyClipTest, TrainedOnceWithTheClipInterface) {
  const std::string cache = test::scratch_dir("tiny-clip-cache");
  const TinyClipConfig config = TinyClipConfig::make(kQuick);
  const TinyClipResult first = ensure_tiny_clip(config, cache, test::clip_vocab());
  EXPECT_TRUE(first.trained);
  EXPECT_TRUE(std::isfinite(first.final_loss));
  EXPECT_GT(first.temperature, 0.0);
  const TinyClipResult again = ensure_tiny_clip(config, cache, test::clip_vocab());
  EXPECT_FALSE(again.trained);
  EXPECT_EQ(again.path, first.path);
  // Another training config (here: other held-out pairs, so other training data) is another file.
  Json other = kQuick;
  other["held_out"] = Json::array({"yellow circle"});
  EXPECT_NE(ensure_tiny_clip(TinyClipConfig::make(other), cache, test::clip_vocab()).path, first.path);

  // The interface check of a real CLIP module accepts it; embeddings come back L2-normalised.
  auto ex = Extractor::load(first.path, ExtractorInterface::clip, "tiny-clip");
  const VideoSet s = shapes_set({{"clips", 2}});
  const Features image = ex->clip_image_embeddings(s.videos[0]);
  EXPECT_EQ(image.rows, 16);
  EXPECT_EQ(image.cols, config.dim);
  const ClipTokenizer tokenizer(test::clip_vocab());
  const Features text = ex->clip_text_embeddings({tokenizer.tokenize(s.captions[0]), tokenizer.tokenize(s.captions[1])});
  EXPECT_EQ(text.rows, 2);
  EXPECT_EQ(text.cols, config.dim);
  double norm = 0;
  for (int k = 0; k < text.cols; ++k) norm += double(text.row(1)[k]) * text.row(1)[k];
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST(TinyClipTest, BadTrainingConfigsNameTheField) {
  EXPECT_THROW(TinyClipConfig::make({{"stepz", 3}}), ConfigError);
  try {
    TinyClipConfig::make({{"held_out", Json::array({"purple circle"})}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("held_out"), std::string::npos) << e.what();
  }
}

// Every word of a moving-shapes caption gets its own row of the token table: no two ids share a bucket.
TEST(TinyClipTest, CaptionTokensLandInDistinctBuckets) {
  const ClipTokenizer tokenizer(test::clip_vocab());
  std::set<int> ids;
  for (const char* word : {"a", "red", "green", "blue", "yellow", "magenta", "cyan", "circle", "square", "triangle",
                           "moving", "right", "up", "and", "left", "down", "quickly", "slowly"})
    for (int id : tokenizer.encode(word)) ids.insert(id);
  ids.insert(ClipTokenizer::kStartToken);
  ids.insert(ClipTokenizer::kEndToken);
  std::set<int> buckets;
  for (int id : ids) buckets.insert(id % kTinyClipTokenBuckets);
  EXPECT_EQ(buckets.size(), ids.size());
}

TEST(TinyClipTest, ClipSimAndFcSelectTinyClip) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = test::scratch_dir("tiny-clip-metrics-cache");
  ctx.weights_dir = vocab_only_weights("tiny-clip-weights");
  const VideoSet fake = shapes_set({{"clips", 3}});
  const Json params{{"extractor", "tiny-clip"}, {"tiny_train", kQuick}};
  const auto sim = metric_registry().make("clip_sim", params, "clip_sim")->compute(fake, fake, ctx);
  ASSERT_FALSE(sim[0].skipped) << sim[0].skip_reason;
  EXPECT_EQ(sim[0].key, "clip_sim[tiny-clip]");
  EXPECT_EQ(sim[0].per_sample.size(), 3u);
  EXPECT_EQ(sim[0].protocol.at("extractor").at("name"), "tiny-clip");
  EXPECT_EQ(sim[0].protocol.at("extractor").at("sha256"),
            sha256_file(sim[0].protocol.at("extractor").at("path").get<std::string>()));
  const auto fc = metric_registry().make("fc", params, "fc")->compute(fake, fake, ctx);
  ASSERT_FALSE(fc[0].skipped) << fc[0].skip_reason;
  EXPECT_EQ(fc[0].key, "fc[tiny-clip]");
  EXPECT_LE(fc[0].value, 1.0 + 1e-6);
  // Both metrics used the same trained file.
  EXPECT_EQ(fc[0].protocol.at("extractor").at("sha256"), sim[0].protocol.at("extractor").at("sha256"));
  // The mismatched control pairs video i with the caption of video (i + ceil(n/2)) mod n: the same as the
  // own-caption value of a set whose captions are rotated so.
  Json mismatched = params;
  mismatched["captions"] = "mismatched";
  const auto control = metric_registry().make("clip_sim", mismatched, "clip_sim")->compute(fake, fake, ctx);
  EXPECT_EQ(control[0].key, "clip_sim[tiny-clip,mismatched]");
  VideoSet rotated = fake;
  for (std::size_t i = 0; i < 3; ++i) rotated.captions[i] = fake.captions[(i + 2) % 3];
  const auto by_hand = metric_registry().make("clip_sim", params, "clip_sim")->compute(rotated, rotated, ctx);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(control[0].per_sample[i], by_hand[0].per_sample[i], 1e-12);

  // Without a cache folder or without the vocabulary there is no tiny-clip: skipped with the reason.
  MetricContext no_cache;
  no_cache.weights_dir = ctx.weights_dir;
  const auto a = metric_registry().make("clip_sim", params, "clip_sim")->compute(fake, fake, no_cache);
  EXPECT_TRUE(a[0].skipped);
  EXPECT_NE(a[0].skip_reason.find("cache"), std::string::npos) << a[0].skip_reason;
  // The vocabulary ships with vdlab: a machine with no weights folder and no $VDLAB_CLIP_VOCAB finds it.
  EXPECT_NE(find_clip_vocab(test::scratch_dir("tiny-clip-empty-weights")), "");
}

// ---- Slow: the default config's text alignment, measured on pairs it never saw --------------------

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

double standard_error(const std::vector<double>& v) {
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1) / double(v.size()));
}

// "a red circle moving left quickly" -> "red circle".
std::string colour_shape(const std::string& caption) {
  std::istringstream words(caption);
  std::string a, colour, shape;
  words >> a >> colour >> shape;
  return colour + " " + shape;
}

TEST(TinyClipSlow, HeldOutCaptionsRetrieveTheirFramesAndOwnCaptionsScoreHigher) {
  const std::string cache = test::scratch_dir("tiny-clip-default");
  const auto start = std::chrono::steady_clock::now();
  const TinyClipConfig config = TinyClipConfig::make();
  const TinyClipResult trained = ensure_tiny_clip(config, cache, test::clip_vocab());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ tiny-clip ] trained in %.1f s, final loss %.3f, temperature %.4f\n", seconds, trained.final_loss,
              trained.temperature);
  auto ex = Extractor::load(trained.path, ExtractorInterface::clip, "tiny-clip");
  const ClipTokenizer tokenizer(test::clip_vocab());

  // Held-out captions -> frames: each query is the caption of a clip whose colour-shape pair was never
  // trained on; its 8 candidates are that clip and 7 clips of the val split with other colour-shape pairs
  // (distinct from each other). A frame cannot show direction or speed, so candidates that share the
  // query's colour and shape would be indistinguishable by any frame encoder: the candidates differ in
  // what a frame shows. A clip's score is its CLIP-SIM with the caption (mean over frames).
  const VideoSet queries = shapes_set({{"clips", 96}, {"combinations", "held_out"}});
  const VideoSet pool = shapes_set({{"clips", 256}, {"split", "val"}});
  std::vector<Features> pool_images;
  for (const Video& v : pool.videos) pool_images.push_back(ex->clip_image_embeddings(v));
  auto clip_sim = [](const Features& image, const Features& text, int row) {
    double s = 0;
    for (int f = 0; f < image.rows; ++f)
      for (int k = 0; k < image.cols; ++k) s += double(image.row(f)[k]) * double(text.row(row)[k]);
    return s / image.rows;
  };
  std::mt19937_64 rng(11);
  int correct = 0;
  for (std::size_t q = 0; q < queries.videos.size(); ++q) {
    const Features text = ex->clip_text_embeddings({tokenizer.tokenize(queries.captions[q])});
    const double own = clip_sim(ex->clip_image_embeddings(queries.videos[q]), text, 0);
    std::set<std::string> used{colour_shape(queries.captions[q])};
    std::vector<std::size_t> order(pool.videos.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    double best_other = -2.0;
    int distractors = 0;
    for (std::size_t i : order) {
      if (distractors == 7) break;
      if (!used.insert(colour_shape(pool.captions[i])).second) continue;
      best_other = std::max(best_other, clip_sim(pool_images[i], text, 0));
      ++distractors;
    }
    ASSERT_EQ(distractors, 7);
    correct += own > best_other;
  }
  const double top1 = double(correct) / double(queries.videos.size());

  // CLIP-SIM of real clips with their own captions against the same clips with shuffled captions, through
  // the metric itself; the margin is the mean paired difference in standard errors.
  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = cache;
  ctx.weights_dir = vocab_only_weights("tiny-clip-default-weights");
  auto margin_of = [&](const VideoSet& own, double& diff, double& se) {
    VideoSet shuffled = own;
    std::vector<std::size_t> perm(own.captions.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 g(5);
    std::shuffle(perm.begin(), perm.end(), g);
    for (std::size_t i = 0; i < perm.size(); ++i) shuffled.captions[i] = own.captions[perm[i]];
    auto metric = metric_registry().make("clip_sim", Json{{"extractor", "tiny-clip"}}, "clip_sim");
    const auto a = metric->compute(own, own, ctx), b = metric->compute(shuffled, shuffled, ctx);
    EXPECT_EQ(a[0].protocol.at("extractor").at("path"), trained.path);
    std::vector<double> d;
    for (std::size_t i = 0; i < a[0].per_sample.size(); ++i) d.push_back(a[0].per_sample[i] - b[0].per_sample[i]);
    diff = mean_of(d);
    se = standard_error(d);
    std::printf("[ tiny-clip ] clip_sim own %.4f, shuffled %.4f, margin %.4f = %.1f standard errors (n = %zu)\n",
                a[0].value, b[0].value, diff, diff / se, d.size());
  };
  double diff = 0, se = 1, held_diff = 0, held_se = 1;
  margin_of(shapes_set({{"clips", 128}}), diff, se);
  margin_of(shapes_set({{"clips", 128}, {"combinations", "held_out"}}), held_diff, held_se);
  std::printf("[ tiny-clip ] held-out caption -> frame top-1 over 8 candidates: %.3f (%d of %zu)\n", top1, correct,
              queries.videos.size());
  EXPECT_GE(top1, 0.8);
  EXPECT_GE(diff / se, 5.0);
  // On held-out pairs shuffled captions mostly name another held-out pair: the margin measures alignment
  // on combinations never trained on.
  EXPECT_GE(held_diff / held_se, 5.0);
}

}  // namespace
}  // namespace vdlab
