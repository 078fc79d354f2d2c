#include "fuzz/targets.h"

namespace vdlab::fuzz {

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"experiment_yaml", fuzz_experiment_yaml},
                                          {"clip_store", fuzz_clip_store},
                                          {"cell_file", fuzz_cell_file},
                                          {"split_list", fuzz_split_list},
                                          {"clip_tokenizer", fuzz_clip_tokenizer}};
  return all;
}

}  // namespace vdlab::fuzz
