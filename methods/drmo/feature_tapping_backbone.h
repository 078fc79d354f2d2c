#pragma once
// A backbone seen through Dr.Mo's eyes: forwards go to the wrapped backbone unchanged, and while
// recording, each forward also returns the decoder features at chosen sites ("decoder feature taps"),
// kept per forward call. When not recording, forward is the wrapped backbone's own forward.
#include <map>
#include <string>
#include <vector>

#include "methods/backbone/capabilities.h"

namespace vdlab {

class FeatureTappingBackbone : public Backbone {
 public:
  // taps empty: never records (a plain pass-through).
  FeatureTappingBackbone(Backbone& inner, std::vector<std::string> taps);

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override;
  Prediction prediction() const override { return inner_.prediction(); }
  Json schedule() const override { return inner_.schedule(); }
  int64_t channels() const override { return inner_.channels(); }
  bool conditional() const override { return inner_.conditional(); }
  Json describe() const override { return inner_.describe(); }
  std::vector<std::string> capabilities() const override { return inner_.capabilities(); }
  BackboneCapability* find_capability(const std::string& name) override { return inner_.find_capability(name); }

  void set_recording(bool on) { recording_ = on && !taps_.empty(); }
  // Per recorded forward: the taps' features, each [batch of the call, C_site, F, h, w].
  std::vector<std::map<std::string, torch::Tensor>> take_recorded();
  const std::vector<std::string>& taps() const { return taps_; }

 private:
  Backbone& inner_;
  FeatureTaps* feature_taps_ = nullptr;
  std::vector<std::string> taps_;
  bool recording_ = false;
  std::vector<std::map<std::string, torch::Tensor>> recorded_;
};

}  // namespace vdlab
