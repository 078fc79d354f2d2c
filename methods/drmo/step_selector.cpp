#include "methods/drmo/step_selector.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace vdlab {

int64_t fixed_switch_step(const std::vector<double>& model_timesteps, double t_star) {
  for (size_t k = 0; k < model_timesteps.size(); ++k)
    if (model_timesteps[k] + 1.0 <= t_star) return static_cast<int64_t>(k);
  throw ConfigError("switch_t " + std::to_string(t_star) + " lies below every step (the last step's t is " +
                    (model_timesteps.empty() ? std::string("none") : std::to_string(model_timesteps.back() + 1.0)) + ")");
}

int64_t rule_switch_step(const std::vector<double>& model_timesteps, const std::vector<double>& errors, double beta) {
  if (model_timesteps.size() != errors.size())
    throw Error("step selector: " + std::to_string(errors.size()) + " errors for " +
                std::to_string(model_timesteps.size()) + " steps");
  int64_t best = -1;
  double best_value = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < errors.size(); ++k) {
    const double weight = std::log(beta * (model_timesteps[k] + 1.0));
    if (!(weight > 0)) throw ConfigError("step selector: log(beta t) must be positive at every step; beta " +
                                         std::to_string(beta) + " gives " + std::to_string(weight) + " at t = " +
                                         std::to_string(model_timesteps[k] + 1.0));
    if (!std::isfinite(errors[k])) continue;
    const double value = weight * errors[k];
    if (value < best_value) best_value = value, best = static_cast<int64_t>(k);
  }
  if (best < 0) throw NumericError("step selector: no step has a finite transformation error");
  return best;
}

}  // namespace vdlab
