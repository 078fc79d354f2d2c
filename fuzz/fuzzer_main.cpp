// libFuzzer's entry point for one target, chosen at compile time (fuzz/CMakeLists.txt builds one
// executable per target from this file).
#include <cstddef>
#include <cstdint>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vdlab::fuzz::VDLAB_FUZZ_FUNCTION(data, size);
  return 0;
}
