#include "methods/training/objective.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "methods/samplers/model_output.h"

namespace vdlab {

LossTermRegistry& loss_term_registry() {
  static LossTermRegistry registry("loss term");
  return registry;
}

at::Tensor LossInputs::predicted_x0() const { return predict_x0(output, xt, alpha, sigma, prediction); }
at::Tensor LossInputs::predicted_eps() const { return predict_eps(output, xt, alpha, sigma, prediction); }

Json resolve_loss_terms(const Json& given, const std::string& path) {
  register_builtin_loss_terms();
  if (!given.is_array()) throw ConfigError(path + ": expected a list of terms [{name: ..., weight: ...}]");
  Json out = Json::array();
  for (size_t i = 0; i < given.size(); ++i) {
    const std::string where = path + "[" + std::to_string(i) + "]";
    const Json term = given[i].is_string() ? Json{{"name", given[i]}} : given[i];
    out.push_back(loss_term_registry().resolve(term, where));
  }
  return out;
}

TrainingObjective::TrainingObjective(const Json& terms, const std::string& path) {
  const Json resolved = resolve_loss_terms(terms, path);
  for (size_t i = 0; i < resolved.size(); ++i) {
    const std::string where = path + "[" + std::to_string(i) + "]";
    names_.push_back(resolved[i].at("name").get<std::string>());
    weights_.push_back(resolved[i].at("weight").get<double>());
    terms_.push_back(loss_term_registry().make_resolved(resolved[i], where));
  }
}

bool TrainingObjective::needs_motion() const {
  for (const auto& t : terms_)
    if (t->needs_motion()) return true;
  return false;
}

TrainingObjective::Value TrainingObjective::loss(const LossInputs& in, bool with_terms) const {
  Value v;
  v.total = at::mse_loss(in.output.to(at::kFloat), in.target.to(at::kFloat));
  v.base = v.total.item<double>();
  if (!with_terms) return v;
  for (size_t i = 0; i < terms_.size(); ++i) {
    const at::Tensor term = terms_[i]->compute(in);
    v.terms.push_back(term.item<double>());
    if (weights_[i] != 0) v.total = v.total + weights_[i] * term;
  }
  return v;
}

}  // namespace vdlab
