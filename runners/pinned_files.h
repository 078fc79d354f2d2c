#pragma once
// Files an experiment pins by SHA-256, checked before any cell runs. A TorchScript file is code, so a
// backbone (`backbone: {torchscript: PATH, sha256: HEX}`) and an extractor (`{name: fvd, extractor: i3d,
// sha256: HEX}`) may pin the exact file they load; `plan`, `run`, `cell` and `submit` hash every pinned
// file that is there now and refuse a different one in one line naming the file and both hashes, so a
// mismatch costs nothing and writes nothing. The loaders check the pin again on the bytes they load (a
// file replaced after this check is refused by the cell, which then fails as any cell does).
#include "runners/cell_runner.h"
#include "runners/experiment.h"

namespace vdlab {

// Throws ConfigError "<field path>: <file>: SHA-256 mismatch: expected <pin>, actual <hash> (...)" for the
// first pinned file whose bytes differ. An extractor not there yet (a third-party file not fetched, a
// tiny one not trained) is not checked here: its metric is skipped, or the file is checked when loaded.
void check_pinned_files(const Experiment& experiment, const RunOptions& options);

// The config a cell's hash is computed from: the cell config without the pins (a pin selects no other
// number: the file's own SHA-256 is what a cell records as consumed), so pinning a file changes no cell.
Json hashed_cell_config(Json config);

}  // namespace vdlab
