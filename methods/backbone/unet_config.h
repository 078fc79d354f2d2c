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
  // none | class | caption (hashed bag of words) | clip-caption (bag of CLIP BPE token ids mod caption_vocab)
  std::string conditioning = "none";
  int64_t num_classes = 0;        // for class conditioning
  int64_t caption_vocab = 1024;   // embedding rows of caption conditioning (hashed words, or BPE id mod rows)

  // Temporal block forms (seed 002, METHODS.md 4). Each field below is written into to_json() only when
  // it differs from its default, so the networks (and cache keys) of configs that name none stay as
  // they were.
  // attention: LayerNorm, attention along frames with a sinusoidal frame position on queries and keys,
  //   zero-initialised output projection.
  // transformer: learnable frame-position encodings (initialised to the sinusoidal features), LayerNorm,
  //   multi-head attention along frames, LayerNorm + GELU feed-forward, both output projections
  //   zero-initialised (an exact identity at initialisation).
  std::string temporal_block = "attention";
  int64_t temporal_ffn_mult = 2;        // feed-forward width / channels (seed 002: 512 / 256)
  int64_t temporal_max_frames = 32;     // rows of the learnable position table
  // global: every temporal block attends over all frames alike. cascaded: global in the down levels and
  // the middle, motion-adaptive in the up levels: logits biased by -beta(m) |i - j| with
  // beta(m) = adaptive_beta_min + (adaptive_beta_max - adaptive_beta_min) m, output
  // h + sigmoid(g(m)) TA(h) with g(m) = m + w2 . silu(w1 m + b1) + b2 (w2, b2 zero-initialised: g is
  // the identity at initialisation), m the video's motion score in [0, 1].
  std::string temporal_placement = "global";
  double adaptive_beta_min = 0.0;
  double adaptive_beta_max = 1.0;
  int64_t adaptive_gate_hidden = 16;    // hidden width of g
  double default_motion = 0.5;          // m of a video given none (adaptive blocks only)

  // Whether the up-level temporal blocks adapt to the motion score.
  bool adaptive_up() const { return temporal_placement == "cascaded"; }

  Json to_json() const;
  static UNetConfig from_json(const Json& j, const std::string& path = "backbone.unet");
  // "tiny" (CPU demos and tests), "small", "base" (GPUs). Throws ConfigError for other names.
  static UNetConfig preset(const std::string& name, const std::string& path = "backbone.preset");
  static std::vector<std::string> preset_names();
  // Every field name from_json reads.
  static std::vector<std::string> field_names();
};

}  // namespace vdlab
