#pragma once
// vdlab's own small extractors, the embedded default when the third-party weights are absent
// (METRICS.md, Weights): tiny-inception (a frame classifier) and tiny-i3d (a clip classifier), trained
// by vdlab with LibTorch on the moving-shapes train split's labels (shape class; tiny-i3d also the motion
// direction in 8 bins), exported as TorchScript with the same interfaces as the standard files
// (image: forward(img, return_features); video: forward(x, rescale, resize, return_features)). Their
// metric keys name them (fid[tiny-inception], fvd[tiny-i3d]); their file's SHA-256 is recorded as for
// any extractor.
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
  int steps = 500;
  int batch = 32;                 // clips per step (tiny-inception: frames = 4 * batch)
  double lr = 3e-3;
  int seed = 0;
  Json to_json() const;
  // Defaults for `name`, with fields of `overrides` (a mapping) applied; unknown fields are errors.
  static TinyTrainConfig make(const std::string& name, const Json& overrides = Json::object());
};

struct TinyTrainResult {
  std::string path;
  bool trained = false;     // false when the cached file was reused
  double final_loss = 0.0;  // training loss of the last steps (when trained)
  double accuracy = 0.0;    // shape-class accuracy on a held-out moving-shapes split (when trained)
  double direction_accuracy = 0.0;  // tiny-i3d: motion-direction (8 bins) accuracy on the same clips
};

// The cached file for the config, trained and written atomically when missing.
TinyTrainResult ensure_tiny_extractor(const TinyTrainConfig& config, const std::string& cache_dir);

}  // namespace vdlab
