#pragma once
// The factorised space-time UNet: 2D residual blocks (and optional 2D self-attention) applied to every
// frame, temporal attention across frames as separate submodules, a per-frame timestep embedding and
// optional class or caption conditioning. Included only by the few torch-nn translation units (the
// builder, training, tests); everything else sees the Backbone interface.
//
// Parameter groups (for freezing, METHODS.md 4-5): every temporal submodule is registered under a name
// starting with "temporal", its q/k/v projections are "to_q", "to_k", "to_v"; everything else is
// spatial (including the timestep and condition embeddings).
#include <torch/nn.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/text/clip_tokenizer.h"
#include "methods/backbone/unet_config.h"
#include "methods/backbone/capabilities.h"

namespace vdlab {

// Sinusoidal features of per-frame timesteps (METHODS.md 6): t[N] -> [N, dim] with
// f_k = exp(-ln(1e4) k / (dim/2)), features [cos(t f), sin(t f)].
torch::Tensor timestep_features(const torch::Tensor& t, int64_t dim);

class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int64_t in, int64_t out, int64_t emb_dim, int64_t groups);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& emb);

 private:
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, skip{nullptr};
  torch::nn::Linear emb_proj{nullptr};
};
TORCH_MODULE(ResBlock);

// 2D self-attention over the pixels of each frame.
class SpatialAttentionImpl : public torch::nn::Module {
 public:
  SpatialAttentionImpl(int64_t channels, int64_t heads, int64_t groups);
  torch::Tensor forward(const torch::Tensor& h);

 private:
  int64_t heads_;
  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(SpatialAttention);

// The form of one temporal block (UNetConfig's temporal_* and adaptive_* fields).
struct TemporalBlockOptions {
  std::string form = "attention";   // attention | transformer
  int64_t ffn_mult = 2;
  int64_t max_frames = 32;
  bool adaptive = false;            // motion-adaptive bias and gate (seed 002's up blocks)
  double beta_min = 0.0, beta_max = 1.0;
  int64_t gate_hidden = 16;
  double default_motion = 0.5;
};

// Attention across frames at every pixel: tokens are the channel vectors of one pixel over F frames.
// Form "attention": a sinusoidal frame-position encoding on queries and keys. Form "transformer":
// learnable frame positions on the normalised tokens, then a LayerNorm + GELU feed-forward. Every
// output projection starts at zero, so a freshly added temporal block leaves the image model unchanged
// (an exact identity). An adaptive block adds -beta(m) |i - j| to the logits and scales its residual by
// sigmoid(g(m)) (UNetConfig::temporal_placement).
class TemporalAttentionImpl : public torch::nn::Module {
 public:
  TemporalAttentionImpl(int64_t channels, int64_t heads, TemporalBlockOptions options = {});
  // h: [B*F, C, H, W] with frames fastest-varying within a video; motion [B] in [0, 1] or undefined
  // (the default motion; read by adaptive blocks only).
  torch::Tensor forward(const torch::Tensor& h, int64_t batch, int64_t frames, const TemporalMod& mod = {},
                        const torch::Tensor& motion = {});
  const TemporalBlockOptions& options() const { return options_; }
  // The adaptive block's logit bias [B, F, F] = -beta(m) |i - j| and gate [B] = sigmoid(g(m)).
  torch::Tensor adaptive_bias(const torch::Tensor& motion, int64_t frames) const;
  torch::Tensor adaptive_gate(const torch::Tensor& motion) const;

 private:
  int64_t channels_, heads_;
  TemporalBlockOptions options_;
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, to_out{nullptr};
  // transformer form
  torch::Tensor position;  // [max_frames, C]
  torch::nn::LayerNorm ffn_norm{nullptr};
  torch::nn::Linear ffn_in{nullptr}, ffn_out{nullptr};
  // adaptive blocks: g(m) = m + gate_fc2(silu(gate_fc1(m)))
  torch::nn::Linear gate_fc1{nullptr}, gate_fc2{nullptr};
};
TORCH_MODULE(TemporalAttention);

class VideoUNetImpl : public torch::nn::Module {
 public:
  explicit VideoUNetImpl(UNetConfig config);
  // x: [B, C, F, H, W]; t: [B, F] float timesteps; labels: [B] int64 (-1 = unconditional) or undefined;
  // captions: per video or empty ("" = unconditional).
  ForwardOutput forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                        const std::vector<std::string>& captions, const ForwardOptions& options = {});
  const UNetConfig& config() const { return config_; }

  // Temporal attention layers in call order: "down0", "down1", ..., "mid", ..., "up1", "up0" (up
  // levels numbered like down levels; 0 is the full-resolution level).
  std::vector<std::string> temporal_sites() const;
  // Feature taps in decoder order: "mid" (after the middle block), then per up level from the deepest
  // "up<l>.block<r>" after each residual block and "up<l>" after the level (before upsampling).
  std::vector<std::string> tap_sites() const;

  // Parameter names in a group: "all", "spatial", "temporal", "temporal_qkv".
  std::vector<std::string> parameter_names(const std::string& group) const;
  std::vector<torch::Tensor> parameter_group(const std::string& group) const;
  // requires_grad on for the named groups' parameters, off for every other parameter.
  void set_trainable(const std::vector<std::string>& groups);
  static std::vector<std::string> group_names() { return {"all", "spatial", "temporal", "temporal_qkv"}; }
  static bool in_group(const std::string& parameter_name, const std::string& group);

 private:
  torch::Tensor condition_embedding(const torch::Tensor& labels, const std::vector<std::string>& captions,
                                    int64_t batch, const torch::Device& device);

  UNetConfig config_;
  torch::nn::Conv2d stem{nullptr}, out_conv{nullptr};
  torch::nn::GroupNorm out_norm{nullptr};
  torch::nn::Linear time_fc1{nullptr}, time_fc2{nullptr};
  torch::nn::Embedding class_embedding{nullptr};
  torch::nn::EmbeddingBag caption_embedding{nullptr};
  std::shared_ptr<const ClipTokenizer> tokenizer_;  // clip-caption conditioning only
  // Per level: residual blocks, optional spatial attention (or null), temporal attention (or null).
  std::vector<std::vector<ResBlock>> down_blocks_, up_blocks_;
  std::vector<SpatialAttention> down_spatial_, up_spatial_;
  std::vector<TemporalAttention> down_temporal_, up_temporal_;
  std::vector<torch::nn::Conv2d> downsamples_, upsamples_;
  ResBlock mid1{nullptr}, mid2{nullptr};
  SpatialAttention mid_spatial{nullptr};
  TemporalAttention temporal_mid{nullptr};
};
TORCH_MODULE(VideoUNet);

// Stable hash buckets of a caption's lower-case words (FNV-1a), for the caption embedding bag.
std::vector<int64_t> caption_tokens(const std::string& caption, int64_t vocab);

// The ids a caption-conditioned network embeds, without the unconditional token (empty for the blank
// caption): hashed words for `caption`, CLIP BPE ids (no start or end token) modulo caption_vocab for
// `clip-caption`.
std::vector<int64_t> caption_ids(const UNetConfig& config, const ClipTokenizer* tokenizer, const std::string& caption);

}  // namespace vdlab
