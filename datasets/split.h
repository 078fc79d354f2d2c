#pragma once
// Split names shared by the datasets: each split draws its own seed stream, so train and test never
// share a clip whatever the seed.
#include <cstdint>
#include <string>

#include "core/error.h"

namespace vdlab {

inline std::uint64_t split_seed(const std::string& split) {
  if (split == "train") return 1;
  if (split == "val") return 2;
  if (split == "test") return 3;
  if (split == "all") return 4;
  throw ConfigError("unknown split '" + split + "' (known: train, val, test, all)");
}

}  // namespace vdlab
