#include "methods/backbone/backbone.h"
#include "methods/method.h"

namespace vdlab {

MethodRegistry& method_registry() {
  static MethodRegistry registry("method");
  return registry;
}

BackboneRegistry& backbone_registry() {
  static BackboneRegistry registry("backbone");
  return registry;
}

Prediction parse_prediction(const std::string& name, const std::string& where) {
  if (name == "eps" || name == "epsilon") return Prediction::eps;
  if (name == "v" || name == "v_prediction") return Prediction::v;
  if (name == "x0" || name == "sample") return Prediction::x0;
  throw ConfigError(where + ": unknown prediction '" + name + "'" + suggestion_suffix(name, {"eps", "v", "x0"}));
}

std::string to_string(Prediction p) {
  switch (p) {
    case Prediction::eps: return "eps";
    case Prediction::v: return "v";
    case Prediction::x0: return "x0";
  }
  return "?";
}

}  // namespace vdlab
