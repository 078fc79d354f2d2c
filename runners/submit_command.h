#pragma once
// `vdlab submit`: a sweep onto a Slurm cluster (runners/slurm.h), returning at once with the job ids;
// `vdlab train`: the backbone training a sweep needs, alone (what submit's training jobs run).
#include <string>
#include <vector>

#include "runners/cli.h"
#include "runners/experiment.h"

namespace vdlab {

Command submit_command();
Command train_command();

// An experiment file (YAML, with `path=value` overrides), or a resolved experiment saved by vdlab in an
// output folder (OUT/experiment.json, no overrides): what array tasks read, frozen at submit time.
Experiment load_experiment_or_saved(const std::string& path, const std::vector<std::string>& overrides);

// The vdlab executable this process runs (for the commands it writes into scripts or starts).
std::string this_executable();

}  // namespace vdlab
