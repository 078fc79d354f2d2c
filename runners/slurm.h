#pragma once
// Slurm, as `vdlab submit` and `vdlab status` talk to it: the sbatch scripts of a sweep, the record of
// submitted jobs in the output folder (slurm/jobs.json), and squeue's view of them.
//
// A sweep is one job per backbone still to train (`vdlab train`) and one array job of cells whose task
// ids are cell indices (`vdlab cell --index $SLURM_ARRAY_TASK_ID`), depending on the training jobs with
// afterok. Tasks are requeueable; Slurm sends USR2 to the batch shell shortly before the time limit,
// the script forwards it to vdlab (training checkpoints and stops) and requeues its own task, which
// resumes from the checkpoint. A cell file is written atomically under a per-cell lock, so a requeued or
// resubmitted task never leaves half a file and never finishes a cell twice.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/params.h"

namespace vdlab {

// "0-3,5,7-8" for sorted or unsorted indices (duplicates ignored); "" for none.
std::string compact_index_list(std::vector<std::size_t> indices);
// The inverse: "0-3,5" -> {0, 1, 2, 3, 5}; a Slurm throttle suffix ("%4") is not part of it. Throws
// ConfigError naming `what` on anything else.
std::vector<std::size_t> parse_index_list(const std::string& list, const std::string& what);

// A word quoted for bash (single quotes), as the sbatch scripts carry paths and options.
std::string shell_quote(const std::string& word);

// Whether an executable of this name is on PATH.
bool command_on_path(const std::string& name);

// One job `vdlab submit` submitted, as recorded in OUT/slurm/jobs.json.
struct SubmittedJob {
  std::string id;        // Slurm job id (of the array job, for cells)
  std::string kind;      // "train" or "cells"
  std::string script;    // the sbatch script
  std::string detail;    // train: the backbone's index and users; cells: the --array= value
};

std::string slurm_dir(const std::string& out_dir);  // OUT/slurm
std::vector<SubmittedJob> read_submitted_jobs(const std::string& out_dir);
// Adds `jobs` to the record (rewritten atomically).
void record_submitted_jobs(const std::string& out_dir, const std::vector<SubmittedJob>& jobs);

// A task of a recorded job in Slurm's queue.
struct QueuedTask {
  std::string job;    // "123_4" for an array task, "125" for a job
  std::string base;   // the job id `submit` recorded (the array job's)
  long array_task = -1;
  std::string state;  // PENDING, RUNNING, REQUEUED, ...
  std::string reason;
  // Running or about to run on a node; everything else in the queue (pending, held, requeued,
  // preempted, suspended) is waiting.
  bool running() const;
};

// squeue's view of `jobs` (array tasks one by one); nullopt when squeue is not on PATH or cannot reach a
// controller (then `status` says so and judges from the files alone).
std::optional<std::vector<QueuedTask>> query_queue(const std::vector<SubmittedJob>& jobs, std::string& problem);
// Parses squeue output in the format query_queue asks for ("%i|%F|%K|%T|%r" lines).
std::vector<QueuedTask> parse_squeue_lines(const std::string& text, const std::vector<SubmittedJob>& jobs);

// What the sbatch scripts need.
struct SbatchSettings {
  std::string vdlab;             // absolute path of the vdlab executable
  std::string experiment;        // OUT/experiment.json (the resolved experiment, frozen at submit time)
  std::string out_dir;           // absolute
  std::string cache_dir, weights_dir, device;
  std::string job_name;          // prefix of the job names
  int threads = 0;               // 0: $SLURM_CPUS_PER_TASK, else 1
  int signal_seconds = 120;      // USR2 this long before the time limit
  std::vector<std::string> sbatch_options;  // passed through (partition, time, mem, gpus, ...)
};

// The batch script of a backbone training job, and of the cells' array job.
std::string train_script(const SbatchSettings& s, std::size_t backbone_index);
std::string cells_script(const SbatchSettings& s);

// Runs sbatch --parsable with `args` and the script; returns the job id. Throws Error with sbatch's
// message when it refuses.
std::string sbatch_submit(const std::vector<std::string>& args, const std::string& script);

}  // namespace vdlab
