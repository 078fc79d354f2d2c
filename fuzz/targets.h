#pragma once
// The fuzz targets' logic, one function per reader of untrusted bytes. libFuzzer calls them through
// fuzz/fuzzer_main.cpp (the clang build with VDLAB_FUZZ=ON); the regular build replays every committed
// corpus and regression input through the same functions (tests/fuzz/replay_test.cpp for the file
// readers, tests/runners/fuzz_experiment_replay_test.cpp for the planner). The folders under
// fuzz/corpus and fuzz/regressions are named after the functions (fuzz_clip_store: clip_store).
//
// The contract each function checks: any input gives a result or a vdlab::Error (ConfigError,
// IoError, ...), which the function swallows. Anything else escapes: another exception type, a
// crash, a sanitizer report, or an invariant of the result that does not hold (a logic_error).
#include <cstddef>
#include <cstdint>

namespace vdlab::fuzz {

// Experiment YAML, then `path=value` overrides (each after a NUL byte), through what `vdlab plan` does
// without running anything: parse, override, resolve, validate, expand into cells, hash; plus the
// saved-experiment round trip (experiment.json plans the same cells).
void fuzz_experiment_yaml(const std::uint8_t* data, std::size_t size);
// The bytes as an HDF5 clip store, opened as dataset `hdf5` and every clip read.
void fuzz_clip_store(const std::uint8_t* data, std::size_t size);
// The bytes as a cell file: read_cell (with samples), read_cell_hash and read_samples_file.
void fuzz_cell_file(const std::uint8_t* data, std::size_t size);
// The bytes as a video-folder split list (testlist01.txt), with classInd.txt before the first form
// feed (0x0C) when there is one, over a root holding one short real video.
void fuzz_split_list(const std::uint8_t* data, std::size_t size);
// The bytes as a caption through CLIP's tokenizer (clean, split, BPE, pad/truncate).
void fuzz_clip_tokenizer(const std::uint8_t* data, std::size_t size);

}  // namespace vdlab::fuzz
