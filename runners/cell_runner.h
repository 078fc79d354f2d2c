#pragma once
// Runs cells: dataset split -> backbone (trained once, cached) -> method -> metrics -> cell file.
// A cell is a pure function of its config; its file appears complete or not at all. A cell that fails
// leaves no cell file, writes its error next to where the file would be (cells/<id>.error), and the
// sweep goes on.
#include <map>
#include <memory>
#include <string>

#include "runners/experiment.h"

namespace vdlab {

struct RunOptions {
  std::string out_dir = "runs/out";
  std::string cache_dir;    // backbone checkpoints and reference statistics; default ~/.cache/vdlab
  std::string weights_dir;  // metric extractors; default <cache_dir>/weights
  std::string device = "cpu";
  bool force = false;       // rerun cells that already have a file with the same hash
};

enum class CellStatus { done, skipped, failed };

struct CellOutcome {
  CellStatus status = CellStatus::failed;
  std::string error;
  double seconds = 0;
};

std::string cell_path(const RunOptions& options, const CellSpec& cell);
std::string cell_error_path(const RunOptions& options, const CellSpec& cell);
// Finished: a readable cell file with the same hash.
bool cell_finished(const RunOptions& options, const CellSpec& cell);

// Keeps what cells of one process share: built backbones and loaded splits.
class CellRunner {
 public:
  CellRunner(const Experiment& experiment, RunOptions options);
  ~CellRunner();
  // Never throws for a failure inside the cell: the outcome carries the error.
  CellOutcome run(const CellSpec& cell);

 private:
  struct Shared;
  const Experiment& experiment_;
  RunOptions options_;
  std::unique_ptr<Shared> shared_;
};

// Whether a resolved backbone config is one the harness trains (it has a training recipe), and so needs
// the training split; analytic and TorchScript backbones do not.
bool backbone_trains(const Json& backbone);

// The options with the default cache and weights folders filled in.
RunOptions with_defaults(RunOptions options);
// The metric context a cell (or a report's reference row) scores with.
struct MetricContext;
MetricContext metric_context(const RunOptions& options, std::uint64_t seed);

// Default cache folder: $VDLAB_CACHE_DIR, else $XDG_CACHE_HOME/vdlab, else ~/.cache/vdlab.
std::string default_cache_dir();

}  // namespace vdlab
