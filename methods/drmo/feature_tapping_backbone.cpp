#include "methods/drmo/feature_tapping_backbone.h"

#include <algorithm>

#include "core/error.h"

namespace vdlab {

FeatureTappingBackbone::FeatureTappingBackbone(Backbone& inner, std::vector<std::string> taps)
    : inner_(inner), taps_(std::move(taps)) {
  if (!taps_.empty()) {
    feature_taps_ = &inner_.capability<FeatureTaps>("drmo (motion_source: features)");
    const auto sites = feature_taps_->tap_sites();
    for (const auto& t : taps_)
      if (std::find(sites.begin(), sites.end(), t) == sites.end()) {
        std::string list;
        for (const auto& s : sites) list += (list.empty() ? "" : ", ") + s;
        throw ConfigError("drmo: taps: unknown decoder site '" + t + "' (this backbone has: " + list + ")");
      }
  }
}

torch::Tensor FeatureTappingBackbone::forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) {
  if (!recording_) return inner_.forward(x, t, cond);
  ForwardOptions options;
  options.taps = taps_;
  ForwardOutput out = feature_taps_->forward_with(x, t, cond, options);
  std::map<std::string, torch::Tensor> kept;
  for (auto& [site, f] : out.features) kept[site] = f.detach();
  recorded_.push_back(std::move(kept));
  return out.prediction;
}

std::vector<std::map<std::string, torch::Tensor>> FeatureTappingBackbone::take_recorded() {
  auto out = std::move(recorded_);
  recorded_.clear();
  return out;
}

}  // namespace vdlab
