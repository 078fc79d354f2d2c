// The experiment planner's fuzz inputs, replayed in the regular build (tests/support/fuzz_replay.h).
#include "fuzz/targets.h"
#include "support/fuzz_replay.h"

namespace vdlab::fuzz {
namespace {

TEST(FuzzReplayTest, ExperimentYaml) { test::replay_fuzz_inputs("experiment_yaml", fuzz_experiment_yaml); }

}  // namespace
}  // namespace vdlab::fuzz
