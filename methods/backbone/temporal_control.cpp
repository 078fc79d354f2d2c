#include "methods/backbone/temporal_control.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace vdlab {

const ParamSpecs& MotionAdaptiveForm::params() {
  static const ParamSpecs specs = [] {
    const MotionAdaptiveForm d;
    return ParamSpecs{
        {"bias", d.bias, "attention-logit bias: distance (-beta(m) |i - j|) or none", {"distance", "none"}, {}},
        {"beta_min", d.beta_min, "beta at motion 0", {}, {}},
        {"beta_max", d.beta_max, "beta at motion 1", {}, {}},
        {"gate", d.gate, "output gate: sigmoid (sigmoid(a m + b)) or none", {"sigmoid", "none"}, {}},
        {"gate_a", d.gate_a, "gate slope a", {}, {}},
        {"gate_b", d.gate_b, "gate offset b", {}, {}},
        {"adaptive", d.adaptive, "layers that adapt to motion: up (down and middle stay global) or all", {"up", "all"}, {}},
    };
  }();
  return specs;
}

MotionAdaptiveForm MotionAdaptiveForm::from_json(const Json& given, const std::string& path) {
  const Params p(resolve_params(given, params(), path), path);
  MotionAdaptiveForm f;
  f.bias = p.get<std::string>("bias");
  f.beta_min = p.get<double>("beta_min");
  f.beta_max = p.get<double>("beta_max");
  f.gate = p.get<std::string>("gate");
  f.gate_a = p.get<double>("gate_a");
  f.gate_b = p.get<double>("gate_b");
  f.adaptive = p.get<std::string>("adaptive");
  if (f.beta_min < 0 || f.beta_max < 0) p.fail("beta_min", "beta must be >= 0 (a positive bias would favour far frames)");
  return f;
}

TemporalControl motion_adaptive_control(const MotionAdaptiveForm& form, const torch::Tensor& motion, int64_t frames) {
  if (motion.dim() != 1) throw Error("motion-adaptive attention: motion must be [B], got " + c10::str(motion.sizes()));
  const at::Tensor m = motion.to(at::kFloat);
  TemporalMod adaptive;
  if (form.bias == "distance") {
    const at::Tensor idx = at::arange(frames, m.options());
    const at::Tensor distance = (idx.unsqueeze(0) - idx.unsqueeze(1)).abs();        // [F, F]
    const at::Tensor beta = form.beta_min + (form.beta_max - form.beta_min) * m;      // [B]
    adaptive.bias = -beta.reshape({-1, 1, 1}) * distance.unsqueeze(0);              // [B, F, F]
  }
  if (form.gate == "sigmoid") adaptive.gate = at::sigmoid(form.gate_a * m + form.gate_b);  // [B]
  const bool all = form.adaptive == "all";
  return [adaptive, all](const std::string& site) {
    return all || site.rfind("up", 0) == 0 ? adaptive : TemporalMod{};
  };
}

}  // namespace vdlab
