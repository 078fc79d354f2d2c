#pragma once
// The shape of the factorised space-time UNet (methods/backbone/unet.h) and its named presets. Plain
// data, no torch: the builder, the checkpoint key and the Python benchmark mirror read it.
#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct UNetConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  // Pixel-unshuffle factor of the stem (1: none). 2 halves the working resolution at 4x the channels.
  int64_t patch = 1;
  int64_t base_channels = 32;
  std::vector<int64_t> channel_mult = {1, 2, 2};   // one entry per resolution level
  int64_t res_blocks = 1;                          // residual blocks per level, down and up paths alike
  std::vector<int64_t> spatial_attention = {};     // levels with 2D self-attention (per frame)
  std::vector<int64_t> temporal_attention = {0, 1, 2};  // levels with temporal attention (plus the middle)
  int64_t heads = 4;
  int64_t groups = 8;             // GroupNorm groups
  int64_t time_features = 256;    // sinusoidal features of the per-frame timestep (METHODS.md 6)
  int64_t emb_dim = 128;          // timestep / condition embedding width
  // none | class | caption (hashed bag of words) | clip-caption (bag of CLIP BPE token ids)
  std::string conditioning = "none";
  int64_t num_classes = 0;        // for class conditioning
  int64_t caption_vocab = 1024;   // hashed word buckets for `caption` conditioning

  Json to_json() const;
  static UNetConfig from_json(const Json& j, const std::string& path = "backbone.unet");
  // "tiny" (CPU demos and tests), "small", "base" (GPUs). Throws ConfigError for other names.
  static UNetConfig preset(const std::string& name, const std::string& path = "backbone.preset");
  static std::vector<std::string> preset_names();
};

}  // namespace vdlab
