#pragma once
// The denoising network as the rest of vdlab sees it. Samplers never see a Backbone: they see only the
// Denoise callback (methods/samplers/denoise.h) that a method builds from one.
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "datasets/clip_source.h"

namespace vdlab {

// What the network's output means (METHODS.md 1.2).
enum class Prediction { eps, v, x0 };
Prediction parse_prediction(const std::string& name, const std::string& where);
std::string to_string(Prediction p);

// Per-video conditioning. `labels` is [B] int64 with -1 meaning "no condition" (the unconditional
// branch of classifier-free guidance); undefined when the backbone is unconditional. Captions are kept
// for text-conditioned backbones and for CLIP-SIM.
struct Conditioning {
  torch::Tensor labels;
  std::vector<std::string> captions;
};

// Base of the optional capabilities a backbone may offer (methods/backbone/capabilities.h).
class BackboneCapability {
 public:
  virtual ~BackboneCapability() = default;
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  // x: [B, C, F, H, W] float; t: [B, F] float timesteps in [0, T) (per frame, METHODS.md 6).
  // Returns the prediction named by prediction(), shaped like x.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) = 0;
  virtual Prediction prediction() const = 0;
  // The training noise schedule ({betas, beta_start, beta_end, num_train_timesteps}); samplers build
  // their timesteps and sigmas from it (methods/schedules).
  virtual Json schedule() const = 0;
  // Channels of the space the backbone denoises (3 for pixel-space backbones).
  virtual int64_t channels() const = 0;
  // Whether `labels` are used, so classifier-free guidance means something.
  virtual bool conditional() const { return false; }
  virtual void to(const torch::Device& device) {}
  // Identity for provenance: the resolved config plus, for trained or loaded weights, their hash.
  virtual Json describe() const = 0;

  // Optional capabilities (methods/backbone/capabilities.h), each asked for by its name, so that a
  // method that needs one fails with one clear line on a backbone that lacks it.
  virtual std::vector<std::string> capabilities() const { return {}; }
  // The object serving the capability called `name`, or null.
  virtual BackboneCapability* find_capability(const std::string& name) {
    (void)name;
    return nullptr;
  }
  // C is a capability interface with a static `kName`. Null when this backbone lacks it.
  template <class C>
  C* try_capability() {
    return dynamic_cast<C*>(find_capability(C::kName));
  }
  // The capability, or a ConfigError naming this backbone, the capability, who needs it and what the
  // backbone offers instead.
  template <class C>
  C& capability(const std::string& needed_by = "") {
    if (C* c = try_capability<C>()) return *c;
    throw_missing_capability(C::kName, needed_by);
  }

 private:
  [[noreturn]] void throw_missing_capability(const std::string& name, const std::string& needed_by) const;
};

using BackbonePtr = std::shared_ptr<Backbone>;

// What building a backbone may need beyond its parameters: a trained backbone trains (or loads its
// cached checkpoint) on `train_data`.
struct BackboneContext {
  std::string cache_dir;        // checkpoint cache, shared by every cell that needs the same backbone
  std::string device = "cpu";  // "cpu" or "cuda"
  ClipSourcePtr train_data;     // the training split (may be null for analytic backbones)
  Json train_data_config;       // its resolved config, part of the checkpoint key
  uint64_t seed = 0;
};

using BackboneBuilder = std::function<BackbonePtr(const BackboneContext&)>;
using BackboneRegistry = Registry<BackboneBuilder>;

BackboneRegistry& backbone_registry();

}  // namespace vdlab
