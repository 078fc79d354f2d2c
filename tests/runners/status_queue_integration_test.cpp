// `vdlab status` on a submitted sweep, with squeue's answers scripted (no cluster needed): a requeued
// task waiting in the queue is pending, never done; a cell whose lock a live process holds is running;
// a finished cell is done whatever its task still says; only the rest is listed to run; and a squeue
// that fails leaves the judgement to the files, saying so.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "methods/backbone/file_lock.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::fresh_dir;
using testing::run_command;
using testing::vdlab_binary;
using testing::write_file;

TEST(StatusQueueIntegration, RequeuedTaskIsPendingLockedCellRunningAndOnlyTheRestToRun) {
  const fs::path dir = fresh_dir("vdlab_status_queue");
  const fs::path out = dir / "out";
  const std::string exp = write_file(dir / "exp.yaml",
                                     "name: queue\n"
                                     "backbone: {name: gaussian}\n"
                                     "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                                     "variants: [{method: uniform, sampler: {name: ddim, steps: 3}}]\n"
                                     "seeds: [0, 1, 2]\n"
                                     "metrics: [mm]\n");
  const std::string where = " --out " + out.string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const auto cell = run_command(vdlab_binary() + " cell " + exp + " --index 0" + where);
  ASSERT_EQ(cell.code, 0) << cell.output;
  const auto plan = run_command(vdlab_binary() + " plan " + exp + where);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(plan.output, m, std::regex("\\n\\s+2  (\\S+)"))) << plan.output;
  const std::string third = m[1];

  // The sweep as `vdlab submit` records it, and what squeue says of it.
  fs::create_directories(out / "slurm");
  write_file(out / "slurm" / "jobs.json",
             R"({"jobs": [{"id": "40", "kind": "train", "detail": "0"}, {"id": "41", "kind": "cells", "detail": "0-2"}]})");
  fs::create_directories(dir / "bin");
  const std::string squeue = write_file(dir / "bin" / "squeue", "#!/bin/sh\ncat " + (dir / "queue.txt").string() + "\n");
  fs::permissions(squeue, fs::perms::owner_all);
  write_file(dir / "queue.txt",
             "40|40|N/A|RUNNING|None\n41_0|41|0|COMPLETING|None\n41_1|41|1|PENDING|BeginTime\n77_2|77|2|RUNNING|None\n");
  const std::string status = "PATH=" + (dir / "bin").string() + ":$PATH " + vdlab_binary() + " status " + out.string();

  {
    FileLock lock((out / "locks" / (third + ".lock")).string());  // a live process running cell 2
    ASSERT_TRUE(lock.try_lock());
    const auto r = run_command(status);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("training 40 (backbone 0): RUNNING\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("(Slurm task 41_1: PENDING (BeginTime))"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("running 2 " + third + "\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("1 of 3 cells done, 0 missing, 0 failed, 0 stale, 1 running, 1 pending\n"), std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("to run"), std::string::npos) << r.output;
  }
  // The process is gone: cell 2 is missing and to run; another sweep's task on index 2 (job 77) is not ours.
  const auto r = run_command(status);
  EXPECT_NE(r.output.find("1 of 3 cells done, 1 missing, 0 failed, 0 stale, 1 pending; to run: --array=2\n"),
            std::string::npos)
      << r.output;
  // squeue fails: the files alone decide, and status says so.
  write_file(squeue, "#!/bin/sh\necho 'slurm_load_jobs error: Unable to contact slurm controller' >&2\nexit 1\n");
  const auto failed = run_command(status);
  EXPECT_NE(failed.output.find("Slurm: squeue failed: slurm_load_jobs error: Unable to contact slurm controller; "
                               "judged from the files alone"),
            std::string::npos)
      << failed.output;
  EXPECT_NE(failed.output.find("to run: --array=1,2\n"), std::string::npos) << failed.output;
}

}  // namespace
}  // namespace vdlab
