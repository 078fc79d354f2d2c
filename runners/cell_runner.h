#pragma once
// Runs cells: dataset split -> backbone (trained once, cached) -> method -> metrics -> cell file.
// A cell is a pure function of its config and the inputs it consumed (runners/cell_state.h); its file
// appears complete or not at all. A finished cell that lacks a metric the experiment asks for (or whose
// extractor changed) is scored from its stored videos and its file rewritten atomically, with nothing
// generated. A cell that fails leaves no cell file, writes its error next to where the file would be
// (cells/<id>.error), and the sweep goes on.
// Several processes may run cells on one output folder at once (array tasks, `run --jobs`, a task
// resubmitted while its first copy still runs): each cell runs under an exclusive lock on
// locks/<id>.lock (beside cells/, which holds only cell files), so a second process on the same cell
// waits and then finds it finished. A cell is never generated twice to completion, and a lock held by a
// live process is how `status` tells that a cell is running.
#include <map>
#include <memory>
#include <string>

#include "runners/experiment.h"

namespace vdlab {

class Backbone;
struct VideoSet;
struct CellRecord;

struct RunOptions {
  std::string out_dir = "runs/out";
  std::string cache_dir;    // backbone checkpoints and reference statistics; default ~/.cache/vdlab
  std::string weights_dir;  // metric extractors; default <cache_dir>/weights
  std::string device = "cpu";
  bool force = false;       // rerun cells that already have a file with the same hash
  bool rerun_other_version = false;  // rerun cells made by another vdlab version (`--rerun stale`)
};

// done: generated and scored; scored: metrics added to a finished cell (nothing generated);
// skipped: finished and current.
enum class CellStatus { done, scored, skipped, failed };

struct CellOutcome {
  CellStatus status = CellStatus::failed;
  std::string error;
  std::string why;  // why it ran: "missing", "stale: ...", "metrics to score: ..."
  double seconds = 0;
};

std::string cell_path(const RunOptions& options, const CellSpec& cell);
std::string cell_error_path(const RunOptions& options, const CellSpec& cell);
// A readable cell file with the same hash (it may be stale: see judge_cell in runners/cell_state.h).
bool cell_finished(const RunOptions& options, const CellSpec& cell);
// The lock file a process holds while it runs the cell.
std::string cell_lock_path(const RunOptions& options, const CellSpec& cell);
// Whether a live process (on any host sharing the folder's locks) holds the cell's lock now.
bool cell_running(const RunOptions& options, const CellSpec& cell);

// Keeps what cells of one process share: built backbones and loaded splits.
class CellRunner {
 public:
  CellRunner(const Experiment& experiment, RunOptions options);
  ~CellRunner();
  // Never throws for a failure inside the cell: the outcome carries the error. The one exception is
  // backbone training stopped by a signal after its checkpoint (TrainingInterrupted): nothing failed,
  // so no error file is written, and the same command resumes.
  CellOutcome run(const CellSpec& cell);
  // Trains (or loads from the cache) the backbone `cell` samples with, generating nothing.
  void prepare_backbone(const CellSpec& cell);

 private:
  struct Shared;
  struct RealSplit;
  const RealSplit& real_split(const Json& dataset);
  Backbone& backbone_for(const CellSpec& cell, Json& weights_files);
  void generate_and_score(const CellSpec& cell, const std::string& why);
  void score_finished(const CellSpec& cell, const std::vector<Json>& metrics);
  void score(const CellSpec& cell, const std::vector<Json>& metrics, const RealSplit& real, const VideoSet& fake,
             CellRecord& record);
  const Experiment& experiment_;
  RunOptions options_;
  std::unique_ptr<Shared> shared_;
};

// The options with the default cache and weights folders filled in.
RunOptions with_defaults(RunOptions options);
// The metric context a cell (or a report's reference row) scores with.
struct MetricContext;
MetricContext metric_context(const RunOptions& options, std::uint64_t seed);

// What `plan` says about the backbone before anything runs: whether it is cached, will be trained (with
// a rough duration from its steps and the speed of an earlier training in the cache), or is loaded
// from a file or analytic. One line per distinct backbone (variants may train their own), naming the
// variants when there are several.
std::string backbone_plan_line(const Experiment& experiment, const RunOptions& options);

// Whether a resolved backbone config still has to be trained: it trains and its final weights are not
// in the cache.
bool backbone_needs_training(const Json& backbone, const Json& train_dataset, const RunOptions& options);

// Default cache folder: $VDLAB_CACHE_DIR, else $XDG_CACHE_HOME/vdlab, else ~/.cache/vdlab.
std::string default_cache_dir();

}  // namespace vdlab
