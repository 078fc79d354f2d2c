#pragma once
// "nmi": a trajectory measurement as a step hook. Metrics score finished videos; step consistency is a
// property of the denoising trajectory, so it is measured where the trajectory is seen. For each listed
// frame pair (i, j) it records, per step, the NMI between the residual motion matrices of consecutive
// steps and against the last step (METHODS.md 3, METRICS.md binning), averaged over the videos of the
// cell, with the source timestep (model timestep + 1) of each step; stats land in the cell file.
#include "methods/hooks/hook_registry.h"

namespace vdlab {

void register_nmi_hook(HookRegistry& registry);

}  // namespace vdlab
