#include "fuzz/scratch.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace vdlab::fuzz {

namespace fs = std::filesystem;

namespace {
void remove_scratch() {
  std::error_code ec;
  fs::remove_all(scratch_dir(), ec);
}
}  // namespace

const fs::path& scratch_dir() {
  static const fs::path dir = [] {
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("vdlab-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  static const bool cleanup_registered = std::atexit(remove_scratch) == 0;
  (void)cleanup_registered;
  return dir;
}

std::string write_scratch_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const fs::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz: cannot write " + path.string());
  return path.string();
}

}  // namespace vdlab::fuzz
