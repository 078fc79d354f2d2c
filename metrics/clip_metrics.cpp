// CLIP-SIM (frame-text cosine) and frame consistency (consecutive-frame cosine) with a CLIP ViT-B/32
// TorchScript module (or vdlab's own tiny-clip, trained into the cache folder), CLIP's image
// preprocessing and the C++ BPE tokenizer.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/log.h"
#include "metrics/builtin_metrics.h"
#include "metrics/extractors/extractor.h"
#include "metrics/extractors/extractor_files.h"
#include "metrics/extractors/tiny_clip.h"
#include "metrics/extractors/training_domain.h"
#include "core/text/clip_tokenizer.h"

namespace vdlab {

namespace {

const char* kClipName = "clip-vit-b32";
const char* kTinyClipName = "tiny-clip";

double dot(const float* a, const float* b, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

// The key's parts: the extractor, then the conventions that change the numbers.
std::vector<std::string> convention_parts(const std::string& extractor, double scale, bool clamp) {
  std::vector<std::string> parts{extractor};
  if (scale != 1.0) {
    std::ostringstream o;
    o << "x" << scale;
    parts.push_back(o.str());
  }
  if (clamp) parts.push_back("clamped");
  return parts;
}

MetricValue skipped(const std::string& key, const std::string& reason, Json protocol) {
  MetricValue v;
  v.key = key;
  v.skipped = true;
  v.skip_reason = reason;
  v.higher_is_better = true;
  v.protocol = std::move(protocol);
  log_warn(key + " skipped: " + reason);
  return v;
}

// The CLIP module the metric's `extractor` names: clip-vit-b32 from the weights folder, or tiny-clip
// trained (once, cached) into the cache folder with the tokenizer vocabulary. Null with the reason when
// it cannot be had.
std::unique_ptr<Extractor> open_clip(const std::string& name, const Json& tiny_train, const MetricContext& ctx,
                                     const ExtractorPin& pin, std::string& reason) {
  if (name == kTinyClipName) {
    if (ctx.cache_dir.empty()) {
      reason = "tiny-clip is trained into the cache folder, and none is set (--cache)";
      return nullptr;
    }
    const std::string vocab = find_clip_vocab(ctx.weights_dir);
    if (vocab.empty()) {
      reason = "tiny-clip reads CLIP's token ids: bpe_simple_vocab_16e6.txt.gz was not found (weights folder, "
               "$VDLAB_CLIP_VOCAB, or the copy vdlab ships in third_party/clip)";
      return nullptr;
    }
    const TinyClipResult t = ensure_tiny_clip(TinyClipConfig::make(tiny_train), ctx.cache_dir, vocab);
    return Extractor::load(t.path, ExtractorInterface::clip, kTinyClipName, ctx.device, pin.sha256, pin.where);
  }
  const std::string path = find_standard_extractor(ctx.weights_dir, kClipName);
  if (path.empty()) {
    reason = ctx.weights_dir.empty()
                 ? "no weights folder is set (--weights or VDLAB_WEIGHTS); CLIP is third-party and not shipped"
                 : std::string("no clip-vit-b32.pt or ViT-B-32.pt in ") + ctx.weights_dir +
                       " (scripts/fetch-weights.sh and scripts/export_clip.py make one)";
    return nullptr;
  }
  return Extractor::load(path, ExtractorInterface::clip, kClipName, ctx.device, pin.sha256, pin.where);
}

// tiny-clip's training data goes into the protocol; the log warns when the real clips the generated ones
// imitate come from another domain.
void note_training_domain(const std::string& name, const Json& tiny_train, const VideoSet& real, Json& protocol) {
  if (name != kTinyClipName) return;
  const Json trained_on = TinyClipConfig::make(tiny_train).train_data();
  protocol["extractor_trained_on"] = trained_on;
  const std::string warning = domain_warning(name, trained_on, real.source);
  if (!warning.empty()) log_warn(warning);
}

double finish(double raw, double scale, bool clamp) {
  const double v = clamp ? std::max(raw, 0.0) : raw;
  return v * scale;
}

class ClipSimMetric : public Metric {
 public:
  explicit ClipSimMetric(const Params& p)
      : scale_(p.get<double>("scale")),
        clamp_(p.get<bool>("clamp")),
        extractor_(p.get<std::string>("extractor")),
        tiny_train_(p.at("tiny_train")),
        pin_(extractor_pin(p)),
        mismatched_(p.get<std::string>("captions") == "mismatched") {}

  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext& ctx) override {
    std::vector<std::string> parts = convention_parts(extractor_, scale_, clamp_);
    if (mismatched_) parts.push_back("mismatched");
    const std::string key = metric_key("clip_sim", parts);
    Json protocol{{"metric", "clip_sim"}, {"scale", scale_}, {"clamp", clamp_},
                  {"captions", mismatched_ ? "mismatched: video i with the caption of video (i + ceil(n/2)) mod n"
                                           : "own: each video with the caption it was generated for"},
                  {"aggregate", "mean over frames, then over videos, of cos(frame, caption)"},
                  {"preprocessing", "shorter side 224 bicubic (antialiased), centre crop, CLIP mean/std"}};
    if (fake.captions.size() != fake.size() ||
        std::any_of(fake.captions.begin(), fake.captions.end(), [](const std::string& c) { return c.empty(); }))
      return {skipped(key, "the generated videos do not all have captions", protocol)};
    std::string reason;
    auto ex = open_clip(extractor_, tiny_train_, ctx, pin_, reason);
    if (!ex) return {skipped(key, reason, protocol)};
    const std::string vocab = find_clip_vocab(ctx.weights_dir);
    if (vocab.empty())
      return {skipped(key, "bpe_simple_vocab_16e6.txt.gz was not found (weights folder, $VDLAB_CLIP_VOCAB, or third_party/clip)", protocol)};
    protocol["extractor"] = ex->info().to_json();
    note_training_domain(extractor_, tiny_train_, real, protocol);
    protocol["tokenizer_vocab"] = vocab;
    const ClipTokenizer tokenizer(vocab);
    // Mismatched captions are the control: how far text alignment falls when the text is another video's.
    const std::size_t n = fake.captions.size(), shift = mismatched_ ? (n + 1) / 2 : 0;
    std::vector<std::vector<std::int64_t>> tokens;
    for (std::size_t i = 0; i < n; ++i) tokens.push_back(tokenizer.tokenize(fake.captions[(i + shift) % n]));
    const Features text = ex->clip_text_embeddings(tokens);
    require_finite_features(text, "CLIP-SIM text features", ex->info().name + " on the captions");
    MetricValue v;
    v.key = key;
    v.higher_is_better = true;
    double total = 0;
    fake.for_each([&](std::size_t i, const Video& video) {
      const Features img = ex->clip_image_embeddings(video);
      require_finite_features(img, "CLIP-SIM image features", ex->info().name + " on generated video " + std::to_string(i));
      if (img.cols != text.cols) throw ExtractorError(ex->info().path + ": image and text embeddings differ in size");
      double s = 0;
      for (int f = 0; f < img.rows; ++f) s += finish(dot(img.row(f), text.row(int(i)), img.cols), scale_, clamp_);
      v.per_sample.push_back(s / img.rows);
      total += v.per_sample.back();
    });
    v.value = total / double(fake.size());
    protocol["n_fake"] = fake.size();
    v.protocol = protocol;
    return {v};
  }

 private:
  double scale_;
  bool clamp_;
  std::string extractor_;
  Json tiny_train_;
  ExtractorPin pin_;
  bool mismatched_;
};

class FrameConsistencyMetric : public Metric {
 public:
  explicit FrameConsistencyMetric(const Params& p)
      : scale_(p.get<double>("scale")),
        clamp_(p.get<bool>("clamp")),
        extractor_(p.get<std::string>("extractor")),
        tiny_train_(p.at("tiny_train")),
        pin_(extractor_pin(p)) {}

  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext& ctx) override {
    const std::string key = metric_key("fc", convention_parts(extractor_, scale_, clamp_));
    Json protocol{{"metric", "fc"}, {"scale", scale_}, {"clamp", clamp_},
                  {"aggregate", "mean over consecutive frame pairs, then over videos, of cos(frame f, frame f+1)"},
                  {"preprocessing", "shorter side 224 bicubic (antialiased), centre crop, CLIP mean/std"}};
    std::string reason;
    auto ex = open_clip(extractor_, tiny_train_, ctx, pin_, reason);
    if (!ex) return {skipped(key, reason, protocol)};
    protocol["extractor"] = ex->info().to_json();
    note_training_domain(extractor_, tiny_train_, real, protocol);
    MetricValue v;
    v.key = key;
    v.higher_is_better = true;
    if (fake.empty()) return {skipped(key, "an empty video set", protocol)};
    double total = 0;
    bool too_short = false;
    fake.for_each([&](std::size_t i, const Video& video) {
      if (too_short || (too_short = video.frames < 2)) return;
      const Features img = ex->clip_image_embeddings(video);
      require_finite_features(img, "frame consistency features", ex->info().name + " on generated video " + std::to_string(i));
      double s = 0;
      for (int f = 0; f + 1 < img.rows; ++f) s += finish(dot(img.row(f), img.row(f + 1), img.cols), scale_, clamp_);
      v.per_sample.push_back(s / (img.rows - 1));
      total += v.per_sample.back();
    });
    if (too_short) return {skipped(key, "a generated video has fewer than 2 frames", protocol)};
    v.value = total / double(fake.size());
    protocol["n_fake"] = fake.size();
    v.protocol = protocol;
    return {v};
  }

 private:
  double scale_;
  bool clamp_;
  std::string extractor_;
  Json tiny_train_;
  ExtractorPin pin_;
};

}  // namespace

void register_clip_metrics(MetricRegistry& r) {
  const ParamSpecs conventions = {
      {"scale", 1.0, "multiply values (1 = the raw cosine; 100 = the x100 convention, named in the key)"},
      {"clamp", false, "clamp cosines below 0 to 0 (named in the key)"},
      {"extractor", kClipName,
       "clip-vit-b32 (weights folder) or tiny-clip (trained by vdlab on moving-shapes frames and captions; "
       "the CLIP vocabulary ships with vdlab; the weights folder or $VDLAB_CLIP_VOCAB may name another copy)",
       {kClipName, kTinyClipName}},
      {"tiny_train", Json::object(),
       "training overrides for tiny-clip (clips, steps, batch, dim, lr, seed, held_out, ...)"}};
  ParamSpecs clip_sim = conventions;
  clip_sim.push_back({"captions", "own",
                      "own (each video with its caption) or mismatched (with another video's caption: the control "
                      "that shows the model follows the text; named in the key)",
                      {"own", "mismatched"}, {}});
  r.add(with_extractor_pin({"clip_sim", "CLIP-SIM: mean cosine between frames and their video's caption; key clip_sim[<extractor>]",
         clip_sim, [](const Params& p) -> MetricPtr { return std::make_shared<ClipSimMetric>(p); }}));
  r.add(with_extractor_pin({"fc", "frame consistency: mean CLIP cosine between consecutive frames; key fc[<extractor>]", conventions,
         [](const Params& p) -> MetricPtr { return std::make_shared<FrameConsistencyMetric>(p); }}));
}

}  // namespace vdlab
