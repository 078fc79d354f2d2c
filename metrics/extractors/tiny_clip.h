#pragma once
// tiny-clip: vdlab's own small text-image dual encoder, the embedded default for CLIP-SIM and FC when the
// third-party CLIP weights are absent (METRICS.md, Weights). A frame encoder (three convolutions over the
// frame average-pooled to 32x32) and a text encoder (the mean of token embeddings over CLIP's BPE ids,
// start to end token, then a linear projection) are trained contrastively (symmetric InfoNCE with a
// learnable temperature, as CLIP) on moving-shapes frames and their captions, and exported as TorchScript
// with the interface of the real CLIP module:
//   encode_image(Tensor[N, 3, 224, 224] float) -> [N, E]   (CLIP-preprocessed frames: Extractor's
//                                                           bicubic 224 + CLIP mean/std path applies
//                                                           unchanged; the module pools 7x7 back to 32x32)
//   encode_text(Tensor[N, 77] int64) -> [N, E]              (ids of core/text/clip_tokenizer.h)
// Token ids index a table of kTinyClipTokenBuckets rows (id modulo the bucket count), which keeps the
// file small; the few dozen ids of moving-shapes captions land in distinct buckets (tested).
//
// Trained on the moving-shapes train split with `combinations: seen`, so the colour-shape pairs of
// `held_out` are never shown: evaluating on `combinations: held_out` measures text alignment on pairs it
// has not memorised. Cached as <cache_dir>/extractors/tiny-clip-<config hash>.pt (the hash covers the
// training data's config); the file's SHA-256 is recorded with every value, as for any extractor.
#include <string>

#include "core/params.h"

namespace vdlab {

constexpr int kTinyClipTokenBuckets = 4099;  // prime, so id % buckets spreads the vocabulary evenly

struct TinyClipConfig {
  int clips = 512;         // moving-shapes train clips (combinations: seen)
  int frames = 16;
  int size = 32;
  int frame_stride = 4;    // every 4th frame of each clip is a training image
  int steps = 600;
  int batch = 64;          // (frame, caption) pairs per step
  int dim = 64;            // embedding size
  double lr = 2e-3;
  int seed = 0;
  Json held_out = Json::array({"red circle", "green square", "blue triangle"});
  Json to_json() const;
  // The moving-shapes config the encoders are trained on.
  Json train_data() const;
  // Defaults with fields of `overrides` (a mapping) applied; unknown fields are ConfigErrors.
  static TinyClipConfig make(const Json& overrides = Json::object());
};

struct TinyClipResult {
  std::string path;
  bool trained = false;     // false when the cached file was reused
  double final_loss = 0.0;  // mean InfoNCE loss of the last 20 steps (when trained)
  double temperature = 0.0; // the learnt softmax temperature 1 / exp(logit_scale) (when trained)
};

// The cached file for the config, trained (with the CLIP vocabulary at `vocab_path`) and written
// atomically when missing.
TinyClipResult ensure_tiny_clip(const TinyClipConfig& config, const std::string& cache_dir,
                                const std::string& vocab_path);

}  // namespace vdlab
