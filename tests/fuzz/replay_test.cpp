// The file readers' fuzz inputs, replayed in the regular build (tests/support/fuzz_replay.h).
#include "fuzz/targets.h"
#include "support/fuzz_replay.h"

namespace vdlab::fuzz {
namespace {

TEST(FuzzReplayTest, ClipStore) { test::replay_fuzz_inputs("clip_store", fuzz_clip_store); }
TEST(FuzzReplayTest, CellFile) { test::replay_fuzz_inputs("cell_file", fuzz_cell_file); }
TEST(FuzzReplayTest, SplitList) { test::replay_fuzz_inputs("split_list", fuzz_split_list); }
TEST(FuzzReplayTest, ClipTokenizer) { test::replay_fuzz_inputs("clip_tokenizer", fuzz_clip_tokenizer); }

}  // namespace
}  // namespace vdlab::fuzz
