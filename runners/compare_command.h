#pragma once
// `vdlab compare CANDIDATE --baseline BASELINE`: per-metric deltas with paired bootstrap confidence
// intervals and verdicts (results/comparison.h), as Markdown (printed), CSV and LaTeX.
#include <string>

#include "results/sweep.h"
#include "runners/cli.h"

namespace vdlab {

Command compare_command();

// A sweep from what a user names: a run's output folder (its cells, or its sweep.h5), a sweep.h5 file,
// or the name of a shipped baseline (results/baselines/NAME.h5, looked up under the current folder and
// then the source tree). Throws ConfigError naming it when it is none of these.
Sweep load_sweep_source(const std::string& what, std::string& resolved);

}  // namespace vdlab
