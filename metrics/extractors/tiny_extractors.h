#pragma once
// vdlab's own small extractors, the embedded default when the third-party weights are absent
// (METRICS.md, Weights): tiny-inception (a frame classifier) and tiny-i3d (a clip classifier), trained
// by vdlab with LibTorch on the moving-shapes train split's labels (shape class; tiny-i3d also the motion
// direction in 8 bins and the speed word's 2 classes), exported as TorchScript with the same interfaces as
// the standard files
// (image: forward(img, return_features); video: forward(x, rescale, resize, return_features)). Their
// metric keys name them (fid[tiny-inception], fvd[tiny-i3d]); their file's SHA-256 is recorded as for
// any extractor.
//
// tiny-i3d also learns frame order: half of its training clips have their frames shuffled and a head
// tells them apart, so its features follow motion rather than appearance alone (a frame-shuffled copy of
// a set is far from the set in FVD, a lightly re-encoded copy is close). It can be trained on the
// evaluation domain's own clips (`data`: a dataset config such as a video-folder train split; then only
// the order objective trains); the training data is part of its config hash.
//
// A trained file is cached as <cache_dir>/extractors/<name>-<config hash>.pt, so a config trains once.
// Training is seeded, but LibTorch's multi-threaded CPU kernels do not promise bitwise-equal weights on
// every machine: values are comparable across runs that use the same file, which is what the recorded
// SHA-256 identifies (copy the cached file to share it).
#include <string>

#include "core/params.h"

namespace vdlab {

struct TinyTrainConfig {
  std::string name = "tiny-i3d";  // or "tiny-inception"
  int clips = 384;                // moving-shapes train clips
  int frames = 16;
  int size = 32;
  int steps = 800;                // tiny-inception: 300
  int batch = 32;                 // clips per step (tiny-inception: frames = 4 * batch)
  double lr = 3e-3;
  int seed = 0;
  Json data;                      // tiny-i3d: training clips as a resolved dataset config; null = moving-shapes
  Json to_json() const;
  // tiny-i3d: the dataset config it trains on (`data`, or the moving-shapes train split of clips/frames/size).
  Json train_data() const;
  // Defaults for `name`, with fields of `overrides` (a mapping) applied; unknown fields are errors.
  static TinyTrainConfig make(const std::string& name, const Json& overrides = Json::object());
};

struct TinyTrainResult {
  std::string path;
  bool trained = false;     // false when the cached file was reused
  double final_loss = 0.0;  // training loss of the last steps (when trained)
  double accuracy = 0.0;    // shape-class accuracy on a held-out moving-shapes split (when trained)
  double direction_accuracy = 0.0;  // tiny-i3d: motion-direction (8 bins) accuracy on the same clips
  double speed_accuracy = 0.0;      // tiny-i3d: slow / fast accuracy on the same clips
  double order_accuracy = 0.0;      // tiny-i3d: ordered / shuffled accuracy (half of the clips shuffled)
};

// The cached file for the config, trained and written atomically when missing.
TinyTrainResult ensure_tiny_extractor(const TinyTrainConfig& config, const std::string& cache_dir);

}  // namespace vdlab
