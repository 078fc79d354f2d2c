// The pieces of `vdlab submit` and `vdlab status` that need no cluster: index lists as Slurm's --array
// takes them, squeue's lines, and what the batch scripts promise (requeue, USR2, append-mode logs).
#include <gtest/gtest.h>

#include "core/error.h"
#include "runners/slurm.h"

namespace vdlab {
namespace {

TEST(SlurmScripts, IndexListsCompactAndParseBack) {
  EXPECT_EQ(compact_index_list({}), "");
  EXPECT_EQ(compact_index_list({3}), "3");
  EXPECT_EQ(compact_index_list({7, 0, 1, 2, 3, 5, 8, 2}), "0-3,5,7,8");
  EXPECT_EQ(compact_index_list({4, 5}), "4,5");
  EXPECT_EQ(parse_index_list("0-3,5,7,8", "--array"), (std::vector<std::size_t>{0, 1, 2, 3, 5, 7, 8}));
  EXPECT_EQ(parse_index_list("2,2,1", "--array"), (std::vector<std::size_t>{1, 2}));
  for (const char* bad : {"", "a", "1-", "3-1", "1,,2", "0-3%2"})
    EXPECT_THROW(parse_index_list(bad, "--array"), ConfigError) << bad;
}

TEST(SlurmScripts, SqueueLinesKeepOnlyTheSweepsJobs) {
  const std::vector<SubmittedJob> jobs = {{"40", "train", "", "0"}, {"41", "cells", "", "0-7"}};
  const auto tasks = parse_squeue_lines(
      "40|40|N/A|RUNNING|None\n41_0|41|0|RUNNING|None\n41_1|41|1|PENDING|Dependency\n"
      "41_2|41|2|REQUEUE_HOLD|JobHeldUser\n99_1|99|1|RUNNING|None\n",
      jobs);
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(tasks[0].array_task, -1);
  EXPECT_TRUE(tasks[0].running());
  EXPECT_EQ(tasks[1].array_task, 0);
  EXPECT_TRUE(tasks[1].running());
  EXPECT_EQ(tasks[2].reason, "Dependency");
  EXPECT_FALSE(tasks[2].running());
  EXPECT_FALSE(tasks[3].running()) << "a requeued task waits; it is never done";
}

TEST(SlurmScripts, BatchScriptsRequeueOnUsr2AndRunTheCellOfTheirTask) {
  SbatchSettings s;
  s.vdlab = "/opt/vdlab/bin/vdlab";
  s.experiment = "/runs/a b/experiment.json";
  s.out_dir = "/runs/a b";
  s.cache_dir = "/cache";
  s.device = "cpu";
  s.job_name = "vdlab-x";
  const std::string cells = cells_script(s);
  for (const char* line : {"#SBATCH --requeue\n", "#SBATCH --signal=B:USR2@120\n", "#SBATCH --open-mode=append\n",
                           "#SBATCH --output=/runs/a b/slurm/logs/cells-%A_%a.log\n",
                           "'/opt/vdlab/bin/vdlab' cell '/runs/a b/experiment.json' --index \"$SLURM_ARRAY_TASK_ID\"",
                           "--threads ${SLURM_CPUS_PER_TASK:-1} &", "kill -USR2 \"$child\"",
                           "scontrol requeue \"$task\""})
    EXPECT_NE(cells.find(line), std::string::npos) << line << "\n" << cells;
  s.threads = 3;
  s.signal_seconds = 300;
  const std::string train = train_script(s, 1);
  for (const char* line : {"#SBATCH --signal=B:USR2@300\n", "train '/runs/a b/experiment.json' --backbone 1",
                           "--threads 3 &", "/slurm/logs/train1-%j.log"})
    EXPECT_NE(train.find(line), std::string::npos) << line << "\n" << train;
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace vdlab
