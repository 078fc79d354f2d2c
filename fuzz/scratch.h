#pragma once
// A folder of the process's own for the files a fuzz target hands to a reader (in /dev/shm when there
// is one: no disk writes per execution), removed when the process exits.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace vdlab::fuzz {

const std::filesystem::path& scratch_dir();
// Writes the bytes to scratch_dir()/name (replacing it) and returns the path.
std::string write_scratch_file(const std::string& name, const std::uint8_t* data, std::size_t size);

}  // namespace vdlab::fuzz
