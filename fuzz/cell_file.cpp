// Fuzz target: the bytes of a cell file, read by every reader `vdlab status`, `collect` and `metrics`
// use on a cell (and as a samples file, which has the same /samples and /captions layout).
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "fuzz/scratch.h"
#include "fuzz/targets.h"
#include "results/cell_file.h"

namespace vdlab::fuzz {

void fuzz_cell_file(const std::uint8_t* data, std::size_t size) {
  set_log_level(LogLevel::error);
  const std::string path = write_scratch_file("cell.h5", data, size);
  (void)read_cell_hash(path);  // never throws
  try {
    (void)read_cell(path, /*with_samples=*/true);
  } catch (const Error&) {
  }
  try {
    std::vector<Video> samples;
    std::vector<std::string> captions;
    read_samples_file(path, samples, captions);
  } catch (const Error&) {
  }
}

}  // namespace vdlab::fuzz
