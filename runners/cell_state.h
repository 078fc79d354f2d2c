#pragma once
// Whether a cell is done: its file has the cell's hash, and what the file records it consumed is what
// the cell would consume now. The identity of the inputs decides, not the config alone:
//   - the evaluation split's content hash (a changed video in a video-folder split),
//   - the SHA-256 of every weights file the videos came from (the TorchScript file, the cached backbone
//     checkpoint): a change makes the cell stale, and `vdlab run` generates it again;
//   - the SHA-256 of every extractor file a metric loaded: a change makes only that metric stale, and it
//     is scored again from the stored videos (nothing is generated).
// A metric the experiment asks for and the file lacks is scored the same way. A cell made by another
// vdlab version is shown as such and rerun only on request (`--rerun stale`).
#include <map>
#include <string>
#include <vector>

#include "core/params.h"
#include "runners/experiment.h"

namespace vdlab {

struct RunOptions;

// The current identity of inputs, each computed once per process.
class InputIdentities {
 public:
  // The content hash of a resolved dataset config's split.
  std::string dataset_hash(const Json& dataset);
  // The SHA-256 of a file, or "" when it does not exist.
  std::string file_sha256(const std::string& path);

 private:
  std::map<std::string, std::string> datasets_, files_;
};

enum class CellState {
  missing,        // no cell file with this hash
  failed,         // no cell file, and the last attempt left cells/<id>.error
  corrupt,        // a cell file that cannot be read (truncated or damaged on disk): generated again by
                  // `vdlab run`, which first moves it aside to cells/<id>.h5.corrupt
  done,           // current
  stale,          // an input of its videos changed: generated again by `vdlab run`
  other_version,  // made by another vdlab version: kept unless `--rerun stale`
};

struct CellJudgement {
  CellState state = CellState::missing;
  std::vector<std::string> reasons;      // why stale or corrupt, or which version made it
  std::vector<Json> metrics_to_score;    // metric configs the file lacks or whose extractor changed
  std::vector<std::string> metric_reasons;  // one per metrics_to_score entry
  std::string error;                     // failed: the first line of cells/<id>.error
};

CellJudgement judge_cell(const RunOptions& options, const CellSpec& cell, InputIdentities& identities);

// One line for `plan` and `status`: "done", "missing", "stale: dataset split content changed",
// "corrupt: cell file unreadable: H5Fopen failed: truncated file: ...", ...
std::string describe_judgement(const CellJudgement& judgement);

// Where `vdlab run` moves a corrupt cell file before generating the cell again: <cell file>.corrupt.
std::string corrupt_cell_path(const RunOptions& options, const CellSpec& cell);
// Moves a cell judged corrupt there (replacing an earlier one), with a warning naming both paths.
void move_corrupt_cell_aside(const RunOptions& options, const CellSpec& cell, const CellJudgement& judgement);

// The file a cell keeps its videos in when they are not saved in the cell file (save_samples: false).
std::string cell_samples_path(const RunOptions& options, const CellSpec& cell);

}  // namespace vdlab
