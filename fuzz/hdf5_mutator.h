#pragma once
// libFuzzer's custom mutator for the HDF5 targets: a well-formed HDF5 file in, a well-formed HDF5 file
// out, with what it holds changed (fuzz/hdf5_mutator.cpp says what and why).
#include <cstddef>
#include <cstdint>

namespace vdlab::fuzz {

// Rewrites the file in data[0, size) in place; returns its new size (at most max_size).
std::size_t mutate_hdf5(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed);

}  // namespace vdlab::fuzz
