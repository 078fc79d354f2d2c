#pragma once
// The "unet" backbone: the factorised space-time UNet (methods/backbone/unet.h), trained on the cell's
// training split or loaded from the checkpoint cache. Light header: the network stays behind a pointer.
//
// Checkpoint cache: <cache_dir>/backbones/<key>/ with key = config_hash({backbone: fully resolved
// parameters, data: the training split's resolved config, seed}). It holds final.pt (the EMA weights
// used for sampling), checkpoint.pt (the resumable training state), curves.h5 (loss per step),
// config.json, and a lock file: a second process that needs the same backbone waits for the first and
// then loads its weights instead of training them again.
#include <torch/types.h>

#include <memory>
#include <string>

#include "methods/backbone/backbone.h"
#include "methods/backbone/unet_config.h"
#include "methods/backbone/unet_types.h"

namespace vdlab {

class VideoUNetImpl;

class UNetBackbone : public Backbone {
 public:
  UNetBackbone(std::shared_ptr<VideoUNetImpl> module, Prediction prediction, Json schedule, Json identity);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override;
  // The same, with temporal attention control and decoder feature taps.
  UNetOutput forward_with(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond,
                          const UNetForwardOptions& options);
  Prediction prediction() const override { return prediction_; }
  Json schedule() const override { return schedule_; }
  int64_t channels() const override;
  bool conditional() const override;
  void to(const torch::Device& device) override;
  Json describe() const override { return identity_; }
  // The network (EMA weights, eval mode, parameters frozen: fine-tuners call set_trainable()).
  std::shared_ptr<VideoUNetImpl> module() const { return module_; }
  const UNetConfig& unet_config() const;

 private:
  std::shared_ptr<VideoUNetImpl> module_;
  Prediction prediction_;
  Json schedule_, identity_;
};

// The "unet" registry entry: parameters preset, prediction, conditioning, schedule {...}, train {...},
// unet {...} (overrides of the preset's fields).
BackboneRegistry::Entry unet_backbone_entry();

// Every parameter of the "unet" entry resolved, nested objects included: what the cache key hashes.
Json resolve_unet_backbone_params(const Json& given, const std::string& path = "backbone");
// The cache folder of a resolved "unet" config for a context.
std::string unet_cache_dir(const Json& resolved, const BackboneContext& ctx);

}  // namespace vdlab
