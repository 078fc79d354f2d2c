#pragma once
// What callers of the space-time UNet pass and get beyond the Backbone interface: per-layer control of
// the temporal attention (motion-adaptive attention) and decoder feature taps (Dr.Mo). Light: no torch::nn.
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace vdlab {

// What a method may add to one temporal attention layer: an additive bias on the attention logits
// ([F, F], [B, F, F] or [B, heads, F, F]) and an output gate (a scalar, [B] or [B, F]):
// h + gate * TA(h). Undefined tensors mean "none" (gate 1).
struct TemporalMod {
  torch::Tensor bias;
  torch::Tensor gate;
};
// Called once per temporal attention layer per forward with the layer's site: "down0", "down1", ...,
// "mid", "up2", ..., "up0" (up levels numbered like down levels; 0 is the full-resolution level).
using TemporalControl = std::function<TemporalMod(const std::string& site)>;

struct UNetForwardOptions {
  TemporalControl temporal;      // may be empty
  bool return_features = false;  // fill UNetOutput::decoder_features
};

struct UNetOutput {
  torch::Tensor prediction;  // [B, C, F, H, W]
  // One per up level, deepest first, after its blocks and before upsampling: [B, C_l, F, H_l, W_l].
  std::vector<torch::Tensor> decoder_features;
};

}  // namespace vdlab
