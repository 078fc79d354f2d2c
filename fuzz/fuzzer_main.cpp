// libFuzzer's entry point for one target, chosen at compile time (fuzz/CMakeLists.txt builds one
// executable per target from this file).
#include <cstddef>
#include <cstdint>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vdlab::fuzz::VDLAB_FUZZ_FUNCTION(data, size);
  return 0;
}

#ifdef VDLAB_FUZZ_HDF5_MUTATOR
#include "fuzz/hdf5_mutator.h"

// The HDF5 targets mutate files through the HDF5 library, never their bytes.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return vdlab::fuzz::mutate_hdf5(data, size, max_size, seed);
}
#endif
