#pragma once
// The one form of a diverged training loss, for every trainer (backbones, tiny extractors), as other
// numeric faults are named: the stage, the step and how many values were not finite.
#include <string>

#include "core/error.h"

namespace vdlab {

// "<who> training step <step> of <steps>: the loss is NaN (<count>)<after>", `step` counted from 1,
// `count` saying how many values were not finite and where ("the model output has 12 non-finite values
// of 4096").
inline NumericError non_finite_training_loss(const std::string& who, long long step, long long steps, double loss,
                                             const std::string& count, const std::string& after = "") {
  return NumericError(who + " training step " + std::to_string(step) + " of " + std::to_string(steps) +
                      ": the loss is " + (loss != loss ? "NaN" : "infinite") + " (" + count + ")" + after);
}

}  // namespace vdlab
