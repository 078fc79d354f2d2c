#pragma once
// The "unet" backbone: the factorised space-time UNet (methods/backbone/unet.h), trained on the cell's
// training split or loaded from the checkpoint cache. Light header: the network stays behind a pointer.
//
// Checkpoint cache: <cache_dir>/backbones/<key>/ with key = config_hash({backbone: fully resolved
// parameters, data: the training split's resolved config, seed}). It holds final.pt (the EMA weights
// used for sampling), checkpoint.pt (the resumable training state), curves.h5 (loss per step),
// config.json, runs.log (one line per training run), and a lock file: a second process that needs the
// same backbone waits for the first and then loads its weights instead of training them again.
// A recipe with image pre-training trains its image stage into a folder of its own, keyed by
// image_stage_identity() (methods/training/stages.h): recipes that differ only in video-stage fields
// (steps, ptss_p, noise, loss, trainable) share it, and each video stage resumes from its checkpoint.
//
// Capabilities (methods/backbone/capabilities.h): decoder feature taps, temporal attention control,
// parameter groups and fine-tuning (clone_for_finetune).
#include <torch/types.h>

#include <memory>
#include <string>

#include "methods/backbone/backbone.h"
#include "methods/backbone/unet_config.h"
#include "methods/backbone/capabilities.h"

namespace vdlab {

class VideoUNetImpl;

class UNetBackbone : public Backbone,
                     public FeatureTaps,
                     public TemporalAttentionControl,
                     public ParameterGroups,
                     public FineTuning {
 public:
  UNetBackbone(std::shared_ptr<VideoUNetImpl> module, Prediction prediction, Json schedule, Json identity);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override;
  Prediction prediction() const override { return prediction_; }
  Json schedule() const override { return schedule_; }
  int64_t channels() const override;
  bool conditional() const override;
  void to(const torch::Device& device) override;
  Json describe() const override { return identity_; }
  std::vector<std::string> capabilities() const override;
  BackboneCapability* find_capability(const std::string& name) override;

  // FeatureTaps and TemporalAttentionControl.
  ForwardOutput forward_with(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond,
                             const ForwardOptions& options) override;
  std::vector<std::string> tap_sites() const override;
  std::vector<std::string> temporal_sites() const override;
  int64_t temporal_heads() const override;
  // ParameterGroups.
  std::vector<std::string> group_names() const override;
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters(const std::string& group) const override;
  std::vector<torch::Tensor> set_trainable(const std::vector<std::string>& groups) override;
  // FineTuning.
  BackbonePtr clone_for_finetune() const override;
  bool is_finetune_copy() const { return finetune_copy_; }

  // The network (EMA weights, eval mode, parameters frozen).
  std::shared_ptr<VideoUNetImpl> module() const { return module_; }
  const UNetConfig& unet_config() const;

 private:
  std::shared_ptr<VideoUNetImpl> module_;
  Prediction prediction_;
  Json schedule_, identity_;
  bool finetune_copy_ = false;
};

// The "unet" registry entry: parameters preset, prediction, conditioning, schedule {...}, train {...},
// unet {...} (overrides of the preset's fields).
BackboneRegistry::Entry unet_backbone_entry();

// Every parameter of the "unet" entry resolved, nested objects included: what the cache key hashes.
Json resolve_unet_backbone_params(const Json& given, const std::string& path = "backbone");
// The cache folder of a resolved "unet" config for a context.
std::string unet_cache_dir(const Json& resolved, const BackboneContext& ctx);

}  // namespace vdlab
