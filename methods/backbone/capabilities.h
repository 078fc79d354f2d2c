#pragma once
// Optional backbone capabilities, each asked for by name through the Backbone interface:
//
//   auto& taps = backbone.capability<FeatureTaps>("drmo");   // ConfigError if the backbone lacks it
//   if (auto* groups = backbone.try_capability<ParameterGroups>()) ...
//
// "decoder feature taps" (Dr.Mo, METHODS.md 3), "temporal attention control" (motion-adaptive
// attention, METHODS.md 4), "parameter groups" and "fine-tuning" (VMC, METHODS.md 5). Light: no torch::nn.
#include <torch/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "methods/backbone/backbone.h"

namespace vdlab {

// What a method may add to one temporal attention layer: an additive bias on the attention logits
// ([F, F], [B, F, F] or [B, heads, F, F]) and an output gate (a scalar, [B] or [B, F]):
// h + gate * TA(h). Undefined tensors mean "none" (gate 1).
struct TemporalMod {
  torch::Tensor bias;
  torch::Tensor gate;
};
// Called once per temporal attention layer per forward with the layer's site (see
// TemporalAttentionControl::temporal_sites).
using TemporalControl = std::function<TemporalMod(const std::string& site)>;

// Per-call extras of one forward pass.
struct ForwardOptions {
  TemporalControl temporal;        // may be empty (needs "temporal attention control")
  std::vector<std::string> taps;   // feature sites to return (needs "decoder feature taps")
  // [B] motion score per video in [0, 1] for motion-adaptive temporal blocks (undefined: the network's
  // default_motion).
  torch::Tensor motion;
  // Skip every temporal block: the image model the temporal modules were added to (seed 002's
  // "without temporal modules" row).
  bool skip_temporal = false;
};

struct ForwardOutput {
  torch::Tensor prediction;                        // [B, C, F, H, W]
  std::map<std::string, torch::Tensor> features;   // per requested tap: [B, C_site, F, H_site, W_site]
};

// A forward pass with per-call options; shared by the capabilities that change or observe one.
class ControlledForward : public virtual BackboneCapability {
 public:
  virtual ForwardOutput forward_with(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond,
                                     const ForwardOptions& options) = 0;
};

// Features of chosen decoder blocks (Dr.Mo).
class FeatureTaps : public virtual ControlledForward {
 public:
  static constexpr const char* kName = "decoder feature taps";
  // Every site a tap may name, in the order the decoder computes them.
  virtual std::vector<std::string> tap_sites() const = 0;
};

// Per-call bias and gate of every temporal attention layer, for example from a motion score per video
// (methods/backbone/temporal_control.h builds the motion-adaptive forms).
class TemporalAttentionControl : public virtual ControlledForward {
 public:
  static constexpr const char* kName = "temporal attention control";
  // The temporal attention layers in call order (the control is called with each).
  virtual std::vector<std::string> temporal_sites() const = 0;
  virtual int64_t temporal_heads() const = 0;
};

// Named parameter groups to train or freeze: "all", "spatial", "temporal", "temporal_qkv".
class ParameterGroups : public virtual BackboneCapability {
 public:
  static constexpr const char* kName = "parameter groups";
  virtual std::vector<std::string> group_names() const = 0;
  // The parameters of a group by name (ConfigError naming an unknown group).
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_parameters(const std::string& group) const = 0;
  // Turns gradients on for these groups' parameters and off for every other one, and returns the
  // trainable tensors for an optimizer. Refused on a backbone shared by other cells: fine-tune a
  // clone_for_finetune() copy.
  virtual std::vector<torch::Tensor> set_trainable(const std::vector<std::string>& groups) = 0;
};

// An independent deep copy to fine-tune (VMC fine-tunes per clip; the cached backbone that later
// cells use must never change).
class FineTuning : public virtual BackboneCapability {
 public:
  static constexpr const char* kName = "fine-tuning";
  // Same weights, config and capabilities; no storage shared with this backbone; every parameter
  // frozen until set_trainable() on the copy. Leaves the global random generators untouched.
  virtual BackbonePtr clone_for_finetune() const = 0;
};

}  // namespace vdlab
