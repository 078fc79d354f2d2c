// Fuzz target: the bytes of an HDF5 clip store, read as dataset `hdf5` the way a run reads a split.
#include "core/error.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "fuzz/scratch.h"
#include "fuzz/targets.h"

namespace vdlab::fuzz {

void fuzz_clip_store(const std::uint8_t* data, std::size_t size) {
  set_log_level(LogLevel::error);
  const std::string path = write_scratch_file("clips.h5", data, size);
  try {
    const ClipSourcePtr store = make_dataset({{"name", "hdf5"}, {"path", path}});
    for (std::size_t i = 0; i < store->size(); ++i) (void)store->get(i);
    (void)store->content_hash();
  } catch (const Error&) {
    // A clear error naming the file is a correct answer to a corrupt one.
  }
}

}  // namespace vdlab::fuzz
