#pragma once
// Training objectives as registered parts: loss = base MSE in the network's parameterisation (eps, v or
// x0) + sum of weighted named terms. Each term is an entry of loss_term_registry() with its own
// parameters and a `weight`; an experiment lists them under backbone.train.loss:
//
//   train: {loss: [{name: temporal_consistency, weight: 2.0}]}          # seed 002's lambda L_tc
//
// Terms compare frames, so they apply to video batches; an image batch (F = 1) trains on the base alone.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "methods/backbone/backbone.h"

namespace vdlab {

// Everything a term may read about one training batch. Shapes: videos [B, C, F, H, W]; alpha and sigma
// [B, 1, F, 1, 1] (x_t = alpha x0 + sigma eps); t [B, F]; motion [B] in [0, 1] (undefined unless a term
// needs_motion()).
struct LossInputs {
  at::Tensor output;    // the network's output
  at::Tensor target;    // what the output should be (eps, v or x0 by `prediction`)
  at::Tensor x0, eps, xt;
  at::Tensor alpha, sigma;
  at::Tensor t;
  at::Tensor motion;
  Prediction prediction = Prediction::eps;
  // The network's x0 and eps predictions, whatever it predicts (METHODS.md 1.2).
  at::Tensor predicted_x0() const;
  at::Tensor predicted_eps() const;
};

class LossTerm {
 public:
  virtual ~LossTerm() = default;
  // A scalar, differentiable in `in.output`.
  virtual at::Tensor compute(const LossInputs& in) const = 0;
  // Whether it reads LossInputs::motion (the trainer then computes per-clip motion scores).
  virtual bool needs_motion() const { return false; }
};

using LossTermPtr = std::shared_ptr<const LossTerm>;
using LossTermRegistry = Registry<LossTermPtr>;

LossTermRegistry& loss_term_registry();
// Registers "temporal_consistency" and "motion_distillation". Safe to call more than once.
void register_builtin_loss_terms();

// A list of terms ([{name, weight, ...}]) with every default filled in, checked; what the cache key hashes.
Json resolve_loss_terms(const Json& given, const std::string& path);

class TrainingObjective {
 public:
  TrainingObjective() = default;
  // `terms`: a resolved list (resolve_loss_terms).
  explicit TrainingObjective(const Json& terms, const std::string& path = "backbone.train.loss");

  struct Value {
    at::Tensor total;                // base + sum of weight * term
    double base = 0;
    std::vector<double> terms;       // unweighted, in the listed order
  };
  // `with_terms` false: the base alone (image batches).
  Value loss(const LossInputs& in, bool with_terms = true) const;
  bool needs_motion() const;
  const std::vector<std::string>& term_names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::vector<double> weights_;
  std::vector<LossTermPtr> terms_;
};

}  // namespace vdlab
