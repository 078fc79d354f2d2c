// FID (per frame) and FVD (stylegan-v and center-crop protocols) over TorchScript extractors, with
// reference statistics cached by split hash, protocol and extractor hash.
#include <cctype>
#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>

#include "core/file_name.h"
#include "core/file_pin.h"
#include "core/hash.h"
#include "core/log.h"
#include "metrics/builtin_metrics.h"
#include "metrics/extractors/extractor.h"
#include "metrics/extractors/extractor_files.h"
#include "metrics/extractors/tiny_clip.h"
#include "metrics/extractors/tiny_extractors.h"
#include "metrics/extractors/training_domain.h"
#include "metrics/frechet.h"
#include "metrics/stats_cache.h"

namespace vdlab {

std::string video_set_hash(const VideoSet& set) {
  if (!set.content_hash.empty()) return set.content_hash;
  Sha256 h;
  set.for_each([&](std::size_t, const Video& v) {
    const int dims[3] = {v.frames, v.height, v.width};
    h.update(dims, sizeof dims);
    h.update(v.data.data(), v.data.size());
  });
  return h.hex();
}

std::string find_standard_extractor(const std::string& weights_dir, const std::string& name) {
  std::vector<std::string> files;
  if (name == "inception-2015-12-05") files = {"inception-2015-12-05.pt"};
  else if (name == "i3d") files = {"i3d_torchscript.pt"};
  else if (name == "clip-vit-b32") files = {"clip-vit-b32.pt", "ViT-B-32.pt"};
  for (const auto& f : files)
    if (!weights_dir.empty() && std::filesystem::exists(weights_dir + "/" + f)) return weights_dir + "/" + f;
  return "";
}

std::string extractor_file(const std::string& name, const Json& tiny_train, const MetricContext& ctx) {
  if (name == "tiny-clip") return ctx.cache_dir.empty() ? "" : cached_tiny_clip_path(TinyClipConfig::make(tiny_train), ctx.cache_dir);
  if (name.rfind("tiny-", 0) == 0)
    return ctx.cache_dir.empty() ? "" : cached_tiny_extractor_path(TinyTrainConfig::make(name, tiny_train), ctx.cache_dir);
  return find_standard_extractor(ctx.weights_dir, name);
}

ExtractorPin extractor_pin(const Params& p) {
  const std::string where = p.field("sha256");
  return {p.has("sha256") ? parse_sha256_pin(p.get<std::string>("sha256"), where) : "", where};
}

MetricRegistry::Entry with_extractor_pin(MetricRegistry::Entry e) {
  const ParamSpecs specs = e.params;
  e.params.push_back({"sha256", "",
                      "the extractor file's pinned SHA-256 (all 64 hex digits, as sha256sum prints them; optional): "
                      "another file is refused before it is loaded, and plan, run, cell and submit check it before "
                      "any cell runs",
                      {}, {}});
  e.resolve = [specs](const Json& given, const std::string& path) {
    Json rest = given, pin;
    if (rest.is_object() && rest.contains("sha256")) {
      pin = rest.at("sha256");
      rest.erase("sha256");
      if (!pin.is_string()) throw ConfigError(path + ".sha256: expected string, got " + json_type_name(pin));
    }
    Json out = resolve_params(rest, specs, path);
    if (!pin.is_null()) out["sha256"] = pin;
    return out;
  };
  return e;
}

namespace {

MetricValue skipped_value(const std::string& key, const std::string& reason, Json protocol, bool higher_is_better) {
  MetricValue v;
  v.key = key;
  v.skipped = true;
  v.skip_reason = reason;
  v.higher_is_better = higher_is_better;
  v.protocol = std::move(protocol);
  log_warn(key + " skipped: " + reason);
  return v;
}

// A standard extractor from the weights folder, or a tiny one trained into the cache folder. Returns null
// with `reason` set when the file is not there (the metric is then skipped); a wrong interface throws.
std::unique_ptr<Extractor> open_extractor(const std::string& name, ExtractorInterface interface,
                                          const MetricContext& ctx, const Json& tiny_train, const ExtractorPin& pin,
                                          std::string& reason) {
  if (name.rfind("tiny-", 0) == 0) {
    if (ctx.cache_dir.empty()) {
      reason = "the tiny extractors are trained into the cache folder, and none is set (--cache)";
      return nullptr;
    }
    const TinyTrainResult t = ensure_tiny_extractor(TinyTrainConfig::make(name, tiny_train), ctx.cache_dir);
    return Extractor::load(t.path, interface, name, ctx.device, pin.sha256, pin.where);
  }
  if (ctx.weights_dir.empty()) {
    reason = "no weights folder is set (--weights or VDLAB_WEIGHTS); the " + name +
             " extractor is third-party and not shipped: scripts/fetch-weights.sh downloads it";
    return nullptr;
  }
  const std::string path = find_standard_extractor(ctx.weights_dir, name);
  if (path.empty()) {
    reason = "extractor " + name + " not found in " + ctx.weights_dir +
             " (scripts/fetch-weights.sh downloads it on a machine with internet)";
    return nullptr;
  }
  return Extractor::load(path, interface, name, ctx.device, pin.sha256, pin.where);
}

// A tiny extractor's training data goes into the protocol, and the log warns when the scored clips come
// from another domain.
void note_training_domain(const std::string& name, const Json& tiny_train, const VideoSet& real, Json& protocol) {
  if (name.rfind("tiny-", 0) != 0) return;
  const Json trained_on = TinyTrainConfig::make(name, tiny_train).train_data();
  protocol["extractor_trained_on"] = trained_on;
  const std::string warning = domain_warning(name, trained_on, real.source);
  if (!warning.empty()) log_warn(warning);
}

// The reference set's statistics: from the cache when every key matches, else computed and stored.
FeatureStats reference_stats(const StatsKey& key, const MetricContext& ctx, const std::function<FeatureStats()>& compute,
                             Json& protocol) {
  StatsCache cache(reference_stats_dir(ctx.cache_dir));
  if (auto cached = cache.load(key)) {
    protocol["reference_stats"] = "cached";
    protocol["reference_stats_file"] = cache.path(key);
    log_info("reference statistics reused from " + cache.path(key));
    return *cached;
  }
  FeatureStats stats = compute();
  const std::string file = cache.store(key, stats);
  protocol["reference_stats"] = cache.enabled() ? "computed" : "computed (no cache folder)";
  if (!file.empty()) protocol["reference_stats_file"] = file;
  return stats;
}

// The generated set's features are stored with the cell under the identity of what produced them (the
// extractor file, its input, the clip length and the set itself), not under the metric's key: a metric
// that needs the same features (another covariance estimator, a metric added to a finished cell, a value
// scored again after the reference statistics changed) reads them back instead of extracting again.
std::string stored_features_path(const MetricContext& ctx, const Json& identity) {
  if (ctx.features_dir.empty()) return "";
  return ctx.features_dir + "/features-" + config_hash(identity).substr(0, 16) + ".h5";
}

// Features stored earlier under `identity`, with the shapes of the videos they came from; false when
// there are none (or no features folder).
bool read_stored_features(const MetricContext& ctx, const Json& identity, Features& features, Json& shapes,
                          Json& protocol) {
  const std::string path = stored_features_path(ctx, identity);
  if (path.empty() || !std::filesystem::exists(path)) return false;
  Json stored;
  features = read_features(path, &stored);
  if (stored.value("feature_identity", Json()) != identity) return false;  // another identity, same prefix
  shapes = stored.value("fake", Json());
  protocol["features_file"] = path;
  protocol["features_read_back"] = true;
  return true;
}

void store_fake_features(const MetricContext& ctx, const Json& identity, const std::string& key, const Features& f,
                         Json& protocol) {
  const std::string path = stored_features_path(ctx, identity);
  if (path.empty() || protocol.value("features_read_back", false)) return;
  Json stored = protocol;
  stored["feature_identity"] = identity;
  write_features(path, key, f, stored);
  protocol["features_file"] = path;
}

void add_features(FeatureStats& stats, const Features& f, const std::string& stage, const std::string& source) {
  if (f.rows == 0) return;
  require_finite_features(f, stage, source);
  if (stats.dim() == 0) stats = FeatureStats(f.cols);
  stats.add(f.data.data(), std::size_t(f.rows));
}

void append_features(Features& all, const Features& part) {
  if (all.rows == 0) {
    all = part;
    return;
  }
  all.data.insert(all.data.end(), part.data.begin(), part.data.end());
  all.rows += part.rows;
}

// What a protocol records about a set: the shape of every video the metric read; a reference set whose
// statistics came from the cache was not read again, and only its size is known.
Json set_shape(const VideoSet& s, const ShapeTally& seen, const Json& recorded = Json()) {
  if (seen.videos() > 0) return seen.to_json();
  if (recorded.is_object()) return recorded;  // read back with its stored features
  return {{"videos", s.size()}, {"shapes", "not read (reference statistics from the cache)"}};
}

// What identifies a generated set's features: the extractor file, how its input was prepared, and the set
// (its content hash: the cell's hash for generated videos). Only computed where features are stored.
Json generated_features_identity(const MetricContext& ctx, const VideoSet& fake, const std::string& extractor_sha256,
                                 Json how) {
  if (ctx.features_dir.empty()) return Json();
  how["extractor_sha256"] = extractor_sha256;
  how["set"] = video_set_hash(fake);
  return how;
}

void fill_result(MetricValue& v, const FrechetResult& r, Json& protocol) {
  v.value = r.value;
  protocol["mean_term"] = r.mean_term;
  protocol["trace_real"] = r.trace1;
  protocol["trace_fake"] = r.trace2;
  protocol["trace_sqrt_product"] = r.trace_sqrt;
  protocol["retried_with_eps"] = r.retried;
  protocol["trace_sqrt_route"] = r.route;
}

// The end every Fréchet metric shares: the sets' shapes and counts into the protocol, the distance,
// and the generated set's features stored with the cell. `unit` names what was counted.
MetricValue frechet_value(const std::string& key, const VideoSet& real, const ShapeTally& real_seen,
                          const VideoSet& fake, const ShapeTally& fake_seen, const FeatureStats& ref,
                          const FeatureStats& gen, CovarianceEstimator estimator, const std::string& unit,
                          const Features& generated, const Json& identity, const Json& fake_shapes,
                          const MetricContext& ctx, Json& protocol) {
  protocol["real"] = set_shape(real, real_seen);
  protocol["fake"] = set_shape(fake, fake_seen, fake_shapes);
  protocol["n_real_" + unit] = ref.count();
  protocol["n_fake_" + unit] = gen.count();
  protocol["feature_dim"] = gen.dim();
  MetricValue v;
  v.key = key;
  v.higher_is_better = false;
  FrechetOptions options;
  // "FID" / "FVD": what a non-finite statistic's error names.
  options.stage.clear();
  for (char c : key.substr(0, key.find('['))) options.stage += char(std::toupper(static_cast<unsigned char>(c)));
  options.first = "real set";
  options.second = "generated set";
  fill_result(v, frechet_distance(ref, gen, estimator, options), protocol);
  store_fake_features(ctx, identity, key, generated, protocol);
  v.protocol = protocol;
  return v;
}

class FidMetric : public Metric {
 public:
  explicit FidMetric(const Params& p)
      : extractor_(p.get<std::string>("extractor")),
        estimator_(covariance_estimator_from_string(p.get<std::string>("estimator"))),
        batch_(p.get<int>("batch")),
        tiny_train_(p.at("tiny_train")),
        pin_(extractor_pin(p)) {
    if (batch_ < 1) p.fail("batch", "must be at least 1");
  }

  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext& ctx) override {
    std::vector<std::string> parts{extractor_};
    if (estimator_ != CovarianceEstimator::unbiased) parts.push_back(to_string(estimator_));
    const std::string key = metric_key("fid", parts);
    Json protocol{{"metric", "fid"}, {"protocol", "per-frame"}, {"estimator", to_string(estimator_)},
                  {"input", "uint8 frames, NCHW, [0, 255]"}};
    std::string reason;
    auto ex = open_extractor(extractor_, ExtractorInterface::image, ctx, tiny_train_, pin_, reason);
    if (!ex) return {skipped_value(key, reason, protocol, false)};
    protocol["extractor"] = ex->info().to_json();
    note_training_domain(extractor_, tiny_train_, real, protocol);
    if (real.empty() || fake.empty()) return {skipped_value(key, "an empty video set", protocol, false)};

    // Video by video: memory holds one video and the running statistics, whatever the set's size.
    ShapeTally real_seen, fake_seen;
    const StatsKey sk{video_set_hash(real), Json{{"metric", "fid"}, {"frames", "all"}, {"input", "uint8"}},
                      ex->info().sha256};
    const FeatureStats ref = reference_stats(sk, ctx, [&] {
      FeatureStats s;
      real.for_each([&](std::size_t, const Video& v) {
        real_seen.add(v);
        add_features(s, ex->frame_features(v, batch_), "FID features", ex->info().name + " on a real video");
      });
      return s;
    }, protocol);
    FeatureStats gen;
    Features all;
    Json fake_shapes;
    const Json identity = generated_features_identity(ctx, fake, ex->info().sha256, {{"features", "frames"}});
    if (read_stored_features(ctx, identity, all, fake_shapes, protocol)) {
      add_features(gen, all, "FID features", "stored features of the generated videos, " + protocol.value("features_file", std::string()));
    } else {
      fake.for_each([&](std::size_t i, const Video& v) {
        fake_seen.add(v);
        const Features f = ex->frame_features(v, batch_);
        add_features(gen, f, "FID features", ex->info().name + " on generated video " + std::to_string(i));
        if (!ctx.features_dir.empty()) append_features(all, f);
      });
    }
    return {frechet_value(key, real, real_seen, fake, fake_seen, ref, gen, estimator_, "vectors", all, identity,
                          fake_shapes, ctx, protocol)};
  }

 private:
  std::string extractor_;
  CovarianceEstimator estimator_;
  int batch_;
  Json tiny_train_;
  ExtractorPin pin_;
};

class FvdMetric : public Metric {
 public:
  explicit FvdMetric(const Params& p)
      : extractor_(p.get<std::string>("extractor")),
        protocol_(p.get<std::string>("protocol")),
        frames_(p.get<int>("frames")),
        batch_(p.get<int>("batch")),
        tiny_train_(p.at("tiny_train")),
        pin_(extractor_pin(p)) {
    const std::string est = p.get<std::string>("estimator");
    default_estimator_ = protocol_ == "stylegan-v" ? CovarianceEstimator::biased : CovarianceEstimator::unbiased;
    estimator_ = est == "protocol" ? default_estimator_ : covariance_estimator_from_string(est);
    if (frames_ < 2) p.fail("frames", "must be at least 2");
    if (batch_ < 1) p.fail("batch", "must be at least 1");
  }

  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext& ctx) override {
    std::vector<std::string> parts{extractor_};
    if (protocol_ != "stylegan-v") parts.push_back(protocol_);
    if (frames_ != 16) parts.push_back("f" + std::to_string(frames_));
    if (estimator_ != default_estimator_) parts.push_back(to_string(estimator_));
    const std::string key = metric_key("fvd", parts);
    const bool stylegan = protocol_ == "stylegan-v";
    Json protocol{{"metric", "fvd"},     {"protocol", protocol_}, {"estimator", to_string(estimator_)},
                  {"frames", frames_},   {"stride", 1},
                  {"input", stylegan ? "uint8 [0, 255], rescale and resize on"
                                     : "shorter side 224 bilinear, centre crop 224, [-1, 1], rescale and resize off"},
                  {"real_offsets", stylegan ? "random per clip, seeded" : "first frame"}};
    if (stylegan) protocol["seed"] = ctx.seed;
    std::string reason;
    auto ex = open_extractor(extractor_, ExtractorInterface::video, ctx, tiny_train_, pin_, reason);
    if (!ex) return {skipped_value(key, reason, protocol, false)};
    protocol["extractor"] = ex->info().to_json();
    note_training_domain(extractor_, tiny_train_, real, protocol);
    if (real.empty() || fake.empty()) return {skipped_value(key, "an empty video set", protocol, false)};
    const VideoInput input = stylegan ? VideoInput::raw_0_255 : VideoInput::center_crop_224;
    Json stats_protocol{{"metric", "fvd"}, {"protocol", protocol_}, {"frames", frames_}};
    if (stylegan) stats_protocol["seed"] = ctx.seed;
    const StatsKey sk{video_set_hash(real), stats_protocol, ex->info().sha256};
    ShapeTally real_seen, fake_seen;
    try {
      const FeatureStats ref = reference_stats(sk, ctx, [&] {
        // Offsets are drawn clip by clip in index order, as the batches arrive.
        std::mt19937_64 rng(ctx.seed ^ 0xF7Dull);
        FeatureStats s;
        features_of(*ex, real, "a real", input, real_seen, [&](const Video& v) {
          return stylegan ? std::uniform_int_distribution<int>(0, v.frames - frames_)(rng) : 0;
        }, [&](const Features& f) { add_features(s, f, "FVD features", ex->info().name + " on a batch of real videos"); });
        return s;
      }, protocol);
      FeatureStats gen;
      Features all;
      Json fake_shapes;
      const Json identity = generated_features_identity(
          ctx, fake, ex->info().sha256, {{"features", "clips"}, {"input", stylegan ? "raw" : "center-crop"}, {"frames", frames_}});
      if (read_stored_features(ctx, identity, all, fake_shapes, protocol)) {
        add_features(gen, all, "FVD features", "stored features of the generated videos, " + protocol.value("features_file", std::string()));
      } else {
        features_of(*ex, fake, "a generated", input, fake_seen, [](const Video&) { return 0; }, [&](const Features& f) {
          add_features(gen, f, "FVD features", ex->info().name + " on a batch of generated videos");
          if (!ctx.features_dir.empty()) append_features(all, f);
        });
      }
      return {frechet_value(key, real, real_seen, fake, fake_seen, ref, gen, estimator_, "clips", all, identity,
                            fake_shapes, ctx, protocol)};
    } catch (const TooShort& e) {
      return {skipped_value(key, e.what(), protocol, false)};
    }
  }

 private:
  struct TooShort : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  // The set's clip features, streamed: batches of at most batch_ videos (split further where the shape
  // changes), each read, featured and freed before the next. Throws TooShort naming the first video with
  // fewer frames than the protocol needs.
  void features_of(const Extractor& ex, const VideoSet& set, const std::string& which, VideoInput input,
                   ShapeTally& seen, const std::function<int(const Video&)>& offset_of,
                   const std::function<void(const Features&)>& sink) const {
    set.for_each_batch(std::size_t(batch_), [&](std::size_t, const std::vector<const Video*>& videos) {
      std::vector<const Video*> batch;
      std::vector<int> first;
      auto flush = [&] {
        if (batch.empty()) return;
        sink(ex.clip_features(batch, first, frames_, input));
        batch.clear();
        first.clear();
      };
      for (const Video* v : videos) {
        if (v->frames < frames_)
          throw TooShort(which + " video has " + std::to_string(v->frames) + " frames; the protocol needs " +
                         std::to_string(frames_));
        seen.add(*v);
        if (!batch.empty() && (v->height != batch[0]->height || v->width != batch[0]->width)) flush();
        batch.push_back(v);
        first.push_back(offset_of(*v));
      }
      flush();
    });
  }

  std::string extractor_, protocol_;
  int frames_, batch_;
  CovarianceEstimator estimator_, default_estimator_;
  Json tiny_train_;
  ExtractorPin pin_;
};

}  // namespace

void register_frechet_metrics(MetricRegistry& r) {
  r.add(with_extractor_pin({"fid",
         "Frechet inception distance over all frames (per-frame FID); key fid[<extractor>]",
         {{"extractor", "inception-2015-12-05",
           "inception-2015-12-05 (weights folder) or tiny-inception (trained by vdlab on moving-shapes)",
           {"inception-2015-12-05", "tiny-inception"}},
          {"estimator", "unbiased", "covariance estimator: unbiased (N - 1, pytorch-fid, clean-fid) or biased (N)",
           {"unbiased", "biased"}},
          {"batch", 64, "frames per extractor call"},
          {"tiny_train", Json::object(), "training overrides for tiny-inception (steps, clips, batch, lr, seed)"}},
         [](const Params& p) -> MetricPtr { return std::make_shared<FidMetric>(p); }}));
  r.add(with_extractor_pin({"fvd",
         "Frechet video distance over 16-frame clips; key fvd[<extractor>(,center-crop)]",
         {{"extractor", "i3d", "i3d (i3d_torchscript.pt in the weights folder) or tiny-i3d (trained by vdlab)",
           {"i3d", "tiny-i3d"}},
          {"protocol", "stylegan-v", "stylegan-v (uint8, module resizes, random real offsets, biased) or center-crop",
           {"stylegan-v", "center-crop"}},
          {"frames", 16, "frames per clip"},
          {"estimator", "protocol", "covariance estimator: the protocol's, biased or unbiased",
           {"protocol", "biased", "unbiased"}},
          {"batch", 8, "clips per extractor call"},
          {"tiny_train", Json::object(), "training overrides for tiny-i3d (steps, clips, batch, lr, seed, data: a dataset config to train on)"}},
         [](const Params& p) -> MetricPtr { return std::make_shared<FvdMetric>(p); }}));
}

}  // namespace vdlab
