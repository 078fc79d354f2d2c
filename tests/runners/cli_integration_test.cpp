// End-to-end tests of the vdlab executable: run, skip, kill and resume, h5py readback, bad input.
// They use an analytic backbone, so they need no training and take seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

const std::string kVdlab = testing::vdlab_binary();
using testing::fresh_dir;
using testing::run_command;
using testing::CommandResult;

// Six cells of a sampler sweep on the diffusers test model over a tiny moving-shapes split.
std::string write_experiment(const fs::path& dir, int steps) {
  const fs::path path = dir / "sweep.yaml";
  std::ofstream(path) << "name: cli-test\n"
                         "backbone: {name: diffusers-test}\n"
                         "dataset: {name: moving-shapes, split: test, clips: 8, frames: 6, size: 16, "
                         "min_radius: 2.0, max_radius: 5.0}\n"
                         "variants:\n"
                         "  - {method: uniform, sampler: {name: ddim, steps: " << steps << "}}\n"
                         "  - {method: uniform, sampler: {name: unipc, steps: [" << steps << ", " << steps + 1 << "]}}\n"
                         "seeds: [0, 1]\n"
                         "metrics: [mm, stability]\n";
  return path.string();
}

// Files whose name ends with `suffix` (".h5": finished cells; temp files end in their writer's pid).
int count_files(const fs::path& dir, const std::string& suffix) {
  int n = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    n += name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return n;
}

int count_temp_files(const fs::path& dir) {
  int n = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp-") != std::string::npos;
  return n;
}

TEST(CliIntegration, RunWritesCellsAndSkipsFinishedOnes) {
  const fs::path dir = fresh_dir("vdlab_cli_run");
  const std::string exp = write_experiment(dir, 5);
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";

  const CommandResult plan1 = run_command(kVdlab + " plan " + exp + common);
  const CommandResult plan2 = run_command(kVdlab + " plan " + exp + common);
  ASSERT_EQ(plan1.code, 0) << plan1.output;
  EXPECT_EQ(plan1.output, plan2.output);
  EXPECT_NE(plan1.output.find("6 cells"), std::string::npos) << plan1.output;

  const CommandResult first = run_command(kVdlab + " run " + exp + common);
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_EQ(count_files(dir / "out" / "cells", ".h5"), 6);
  EXPECT_TRUE(fs::exists(dir / "out" / "report.md"));
  EXPECT_TRUE(fs::exists(dir / "out" / "samples" / "grid.png"));

  const CommandResult second = run_command(kVdlab + " run " + exp + common);
  ASSERT_EQ(second.code, 0) << second.output;
  int skipped = 0;
  for (std::size_t at = 0; (at = second.output.find("skipped", at)) != std::string::npos; ++at) ++skipped;
  EXPECT_GE(skipped, 6) << second.output;
  EXPECT_NE(run_command(kVdlab + " plan " + exp + common).output.find("done"), std::string::npos);
}

TEST(CliIntegration, CellFileOpensInH5py) {
  const fs::path dir = fresh_dir("vdlab_cli_h5py");
  const std::string exp = write_experiment(dir, 4);
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  ASSERT_EQ(run_command(kVdlab + " cell " + exp + " --index 0" + common).code, 0);
  const fs::path cell = *fs::directory_iterator(dir / "out" / "cells");
  const fs::path script = dir / "check.py";
  std::ofstream(script) << "import json, sys, h5py\n"
                           "f = h5py.File(sys.argv[1], 'r')\n"
                           "assert f.attrs['format'] == 'vdlab-cell/1'\n"
                           "cfg = json.loads(f.attrs['config'])\n"
                           "prov = json.loads(f.attrs['provenance'])\n"
                           "assert cfg['variant']['sampler']['name'] == 'ddim', cfg\n"
                           "for k in ('git_commit', 'libtorch', 'opencv', 'hdf5', 'device', 'host', 'threads', 'seed'):\n"
                           "    assert k in prov, k\n"
                           "mm = f['metrics/mm']\n"
                           "assert mm['per_sample'].shape == (8,), mm['per_sample'].shape\n"
                           "assert abs(mm.attrs['value'] - mm['per_sample'][:].mean()) < 1e-9\n"
                           "assert f['samples'].shape == (8, 6, 16, 16, 3) and f['samples'].dtype == 'uint8'\n"
                           "print('h5py ok', f.attrs['hash'])\n";
  const CommandResult r = run_command("/usr/bin/python3 " + script.string() + " " + cell.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("h5py ok"), std::string::npos) << r.output;
}

TEST(CliIntegration, KilledRunLeavesNothingCorruptAndResumes) {
  const fs::path dir = fresh_dir("vdlab_cli_kill");
  // Enough steps that the run is still going when the first cell lands.
  const std::string exp = write_experiment(dir, 800);
  const fs::path cells = dir / "out" / "cells";
  const std::string out = (dir / "out").string(), cache = (dir / "cache").string();
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    execl(kVdlab.c_str(), kVdlab.c_str(), "run", exp.c_str(), "--out", out.c_str(), "--cache", cache.c_str(),
          "--threads", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_files(cells, ".h5") < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const int finished = count_files(cells, ".h5");
  ASSERT_GE(finished, 1);
  ASSERT_LT(finished, 6) << "the run finished before it could be killed; the test proves nothing";
  // Every cell file present is complete and readable.
  for (const auto& e : fs::directory_iterator(cells)) {
    if (e.path().extension() == ".h5") {
      EXPECT_NO_THROW(read_cell(e.path().string()));
    }
  }

  const CommandResult resumed = run_command(kVdlab + " run " + exp + " --out " + out + " --cache " + cache + " --threads 1");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  int skipped = 0, ran = 0;
  for (std::size_t at = 0; (at = resumed.output.find("skipped\n", at)) != std::string::npos; ++at) ++skipped;
  for (std::size_t at = 0; (at = resumed.output.find(": done in", at)) != std::string::npos; ++at) ++ran;
  EXPECT_EQ(skipped, finished) << resumed.output;
  EXPECT_EQ(ran, 6 - finished) << resumed.output;
  EXPECT_EQ(count_files(cells, ".h5"), 6);
  EXPECT_EQ(count_temp_files(cells), 0);
}

// Each kind of bad input: one clear line, a non-zero exit, no result file.
TEST(CliIntegration, BadInputGivesOneLineAndNoResult) {
  const fs::path dir = fresh_dir("vdlab_cli_bad");
  const std::string good = write_experiment(dir, 3);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const fs::path ucf = dir / "ucf" / "Clips";
  fs::create_directories(ucf);
  std::ofstream(ucf / "broken.avi") << "not a video at all";
  struct Case {
    std::string file, expected;
  };
  const std::vector<Case> cases = {
      {write("malformed.yaml", "variants: [{method: uniform}\nseeds: [0]\n"), "malformed.yaml:2:1: malformed YAML"},
      {write("field.yaml", "variants: [{method: uniform, sampler: {name: ddim, stpes: 3}}]\n"),
       "variants[0].sampler.stpes: unknown field (did you mean 'steps'?)"},
      {write("name.yaml", "backbone: {name: diffusers-test}\nvariants: [{method: unifrom}]\n"),
       "variants[0].method: unknown method 'unifrom' (did you mean 'uniform'?)"},
      {write("type.yaml", "backbone: {name: diffusers-test}\nvariants: [{method: uniform, sampler: {name: ddim, steps: many}}]\n"),
       "variants[0].sampler.steps: expected integer, got string \"many\""},
      {write("path.yaml", "backbone: {name: diffusers-test}\ndataset: {name: video-folder, root: /no/such/videos}\n"
                          "variants: [{method: uniform}]\n"),
       "dataset.root: /no/such/videos: no such folder"},
      {write("corrupt.yaml", "backbone: {name: diffusers-test}\ndataset: {name: video-folder, root: " +
                                 (dir / "ucf").string() + ", split: all, frames: 2}\nvariants: [{method: uniform}]\n"),
       "broken.avi: cannot open video"},
      {(dir / "missing.yaml").string(), "missing.yaml: cannot open experiment file"},
  };
  for (const auto& c : cases) {
    const fs::path out = dir / ("out_" + fs::path(c.file).stem().string());
    const CommandResult r = run_command(kVdlab + " run " + c.file + " --out " + out.string() + " --cache " +
                                 (dir / "cache").string() + " --threads 1");
    EXPECT_EQ(r.code, 2) << c.file;  // bad input, as --help says
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.file << "\n" << r.output;
    // One line: the error itself (cells that fail inside a run log one line each too).
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_EQ(count_files(out / "cells", ".h5"), 0) << c.file;
  }
}

}  // namespace
}  // namespace vdlab

namespace vdlab {
namespace {

TEST(CliIntegration, EveryCommandHasHelp) {
  const CommandResult top = run_command(kVdlab + " --help");
  EXPECT_EQ(top.code, 0);
  for (const char* name : {"run", "plan", "cell", "status", "list", "preview", "metrics", "collect", "compare",
                           "paper-report", "submit", "train"}) {
    const std::string command = name;
    EXPECT_NE(top.output.find("  " + command), std::string::npos) << command;
    const CommandResult r = run_command(kVdlab + " " + command + " --help");
    EXPECT_EQ(r.code, 0) << command << "\n" << r.output;
    EXPECT_NE(r.output.find("usage: vdlab " + command), std::string::npos) << r.output;
    if (command == "list") continue;  // lists every registry when given nothing
    // Nothing given: the same help, as an error.
    const CommandResult bare = run_command(kVdlab + " " + command);
    EXPECT_EQ(bare.code, 2) << command << "\n" << bare.output;
    EXPECT_NE(bare.output.find("usage: vdlab " + command), std::string::npos) << bare.output;
    // A malformed line: one error that points to this command's help.
    const CommandResult bad = run_command(kVdlab + " " + command + " --no-such-option");
    EXPECT_EQ(bad.code, 2) << command << "\n" << bad.output;
    EXPECT_NE(bad.output.find("no-such-option"), std::string::npos) << bad.output;
    EXPECT_NE(bad.output.find("(see vdlab " + command + " --help)"), std::string::npos) << bad.output;
  }
  const CommandResult list = run_command(kVdlab + " list samplers");
  EXPECT_NE(list.output.find("unipc"), std::string::npos);
  EXPECT_NE(list.output.find("variant = \"bh2\""), std::string::npos) << list.output;
  const CommandResult typo = run_command(kVdlab + " lsit methods");
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.output.find("did you mean 'list'"), std::string::npos);
}

}  // namespace
}  // namespace vdlab
