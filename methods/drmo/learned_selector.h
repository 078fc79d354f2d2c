#pragma once
// The learned step selector (DSS as a recurrent network, the source's section 3.3): a small GRU reads a
// video's per-step statistics of the reference pair's motion (transformation error, NMI to the next
// step, timestep / T), and a linear head over its last state scores each step as the switch step. It is
// trained by cross-entropy to the rule's switch step (step_selector.h) on trajectories of the training
// split, with random masking of input steps (a masked step's features are zeroed and a mask flag set), so
// it also answers from incomplete sequences. Accuracy is measured on held-out trajectories.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct SelectorExample {
  std::vector<std::vector<double>> steps;  // per step: {error, nmi_next, t / T}
  int64_t label = 0;                       // the rule's switch step
};

struct LearnedSelectorOptions {
  int64_t hidden = 32;
  int64_t epochs = 300;        // full-batch Adam steps
  double lr = 1e-2;
  double mask = 0.3;           // probability that a step's input is masked during training
  double heldout = 0.25;       // share of examples held out for the accuracy (the last ones)
  uint64_t seed = 0;
};

struct LearnedSelectorReport {
  int64_t train_examples = 0, heldout_examples = 0;
  double train_accuracy = 0, heldout_accuracy = 0, heldout_within_one = 0;
  std::vector<double> loss_curve;  // every 10th epoch
  double seconds = 0;
  Json to_json() const;
};

class LearnedSelector {
 public:
  // Trains on examples of `steps` steps each. Leaves torch's global random generator as it found it.
  static std::pair<std::shared_ptr<LearnedSelector>, LearnedSelectorReport> train(
      const std::vector<SelectorExample>& examples, int64_t steps, const LearnedSelectorOptions& options);
  // The switch step for one sequence (no masking).
  int64_t predict(const std::vector<std::vector<double>>& steps) const;
  ~LearnedSelector();

 private:
  LearnedSelector();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vdlab
