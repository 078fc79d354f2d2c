// Files and values from an experiment are data, never code: a pinned TorchScript or extractor file that
// changed is refused before anything runs (one line, both hashes, nothing written); a model that returns
// NaN stops its cell in one line naming the cell, the sampling step and the count (no cell file); and
// paths full of shell metacharacters reach every spawned process as file names, so nothing they spell
// is ever executed (`vdlab submit`'s sbatch call and the batch script it writes, run here by bash).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/hash.h"
#include "runners/cli_support.h"
#include "runners/slurm.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::fresh_dir;
using testing::run_command;
using testing::vdlab_binary;
using testing::write_file;

// The TorchScript denoisers of scripts/fixtures/make_torchscript_denoiser.py, made once.
const fs::path& denoisers() {
  static const fs::path dir = [] {
    const fs::path d = fresh_dir("vdlab-untrusted-denoisers-" + std::to_string(::getpid()));
    const auto r = run_command("/usr/bin/python3 " VDLAB_SOURCE_DIR "/scripts/fixtures/make_torchscript_denoiser.py " +
                               shell_quote(d.string()));
    EXPECT_EQ(r.code, 0) << r.output;
    return d;
  }();
  return dir;
}

std::string experiment(const fs::path& dir, const std::string& backbone, const std::string& metrics = "[mm]",
                       const std::string& name = "untrusted") {
  return write_file(dir / "exp.yaml", "name: " + name + "\nbackbone: " + backbone +
                                          "\n"
                                          "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                                          "variants: [{method: uniform, sampler: {name: ddim, steps: 10}}]\n"
                                          "seeds: [0]\n"
                                          "metrics: " + metrics + "\n");
}

std::string vdlab(const std::string& args) { return shell_quote(vdlab_binary()) + " " + args + " --threads 1"; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST(UntrustedInputIntegration, PinnedBackboneThatChangedIsOneLineAndWritesNothing) {
  const fs::path dir = fresh_dir("vdlab-untrusted-pin");
  const std::string model = (denoisers() / "exact_eps.pt").string();
  const std::string actual = sha256_file(model), expected = sha256_file((denoisers() / "class_shift.pt").string());
  const std::string exp = experiment(dir, "{torchscript: " + model + ", sha256: " + expected + "}");
  const std::string out = (dir / "out").string(), cache = (dir / "cache").string();
  const std::string line = "backbone.sha256: " + model + ": SHA-256 mismatch: expected " + expected + ", actual " +
                           actual + " (the file is not the one pinned; nothing was loaded)";
  for (const std::string command : {"run", "plan", "cell"}) {
    const auto r = run_command(vdlab(command + " " + exp + " --out " + out + " --cache " + cache +
                                     (command == "cell" ? " --index 0" : "")));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_EQ(lines_of(r.output), std::vector<std::string>{"vdlab " + command + ": error: " + line}) << r.output;
    EXPECT_FALSE(fs::exists(out)) << command << " wrote into the output folder";
  }

  // The right pin plans the same cells as no pin: pinning a file changes no cell's hash.
  const auto pinned = run_command(vdlab("plan " + experiment(dir, "{torchscript: " + model + ", sha256: " + actual + "}") +
                                        " --out " + out + " --cache " + cache));
  ASSERT_EQ(pinned.code, 0) << pinned.output;
  const auto plain = run_command(vdlab("plan " + experiment(dir, "{torchscript: " + model + "}") + " --out " + out +
                                       " --cache " + cache));
  ASSERT_EQ(plain.code, 0) << plain.output;
  const std::regex cell_line(R"(\n\s*0\s+(\S+)\s+([0-9a-f]{16}))");
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(pinned.output, a, cell_line)) << pinned.output;
  ASSERT_TRUE(std::regex_search(plain.output, b, cell_line)) << plain.output;
  EXPECT_EQ(a[2], b[2]);
}

TEST(UntrustedInputIntegration, PinnedExtractorThatChangedIsOneLineAndWritesNothing) {
  const fs::path dir = fresh_dir("vdlab-untrusted-extractor-pin");
  fs::create_directories(dir / "weights");
  const std::string file = (dir / "weights" / "i3d_torchscript.pt").string();
  fs::copy_file(VDLAB_SOURCE_DIR "/tests/fixtures/metrics/extractors/video_extractor.pt", file);
  const std::string expected(64, '0');
  const std::string exp = experiment(dir, "{name: diffusers-test}", "[{name: fvd, extractor: i3d, sha256: '" + expected + "'}]");
  const std::string out = (dir / "out").string();
  const auto r = run_command(vdlab("run " + exp + " --out " + out + " --cache " + (dir / "cache").string() +
                                   " --weights " + (dir / "weights").string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(lines_of(r.output),
            std::vector<std::string>{"vdlab run: error: metrics[0].sha256: " + file + ": SHA-256 mismatch: expected " +
                                     expected + ", actual " + sha256_file(file) +
                                     " (the file is not the one pinned; nothing was loaded)"})
      << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(UntrustedInputIntegration, ModelReturningNaNFailsItsCellNamingStepAndCount) {
  const fs::path dir = fresh_dir("vdlab-untrusted-nan");
  const std::string exp = experiment(dir, "{torchscript: " + (denoisers() / "nan_late.pt").string() + "}");
  const std::string out = (dir / "out").string();
  const auto r = run_command(vdlab("run " + exp + " --out " + out + " --cache " + (dir / "cache").string()));
  EXPECT_EQ(r.code, 1) << r.output;
  // nan_late.pt writes 5 NaN values once every timestep is below 500; DDIM's 10 steps are 900, 800, ...
  std::smatch m;
  const std::regex failure(R"(error: cell 0 (\S+): sampling step 6 of 10 \(t=400\): the model output has 5 non-finite )"
                           R"(values \(NaN or Inf\) of 6144; nothing from it is kept\n)");
  ASSERT_TRUE(std::regex_search(r.output, m, failure)) << r.output;
  const std::string id = m[1];
  EXPECT_FALSE(fs::exists(out + "/cells/" + id + ".h5"));
  EXPECT_TRUE(fs::exists(out + "/cells/" + id + ".error"));
  EXPECT_FALSE(fs::exists(out + "/features/" + id));
  const auto status = run_command(shell_quote(vdlab_binary()) + " status " + out);
  EXPECT_NE(status.output.find("sampling step 6 of 10"), std::string::npos) << status.output;
}

TEST(UntrustedInputIntegration, ShellMetacharactersInPathsAreFileNames) {
  const fs::path dir = fresh_dir("vdlab-untrusted-shell");
  const std::string evil = "a; touch M1 $(touch M2) `touch M3` | touch M4 & touch M5 'q > M6";
  auto no_markers = [&] {
    for (const char* m : {"M1", "M2", "M3", "M4", "M5", "M6"}) EXPECT_FALSE(fs::exists(dir / m)) << m << " was created";
  };
  // A path in the experiment is a file name, reported as such.
  const std::string missing = (dir / (evil + ".pt")).string();
  const auto plan = run_command("cd " + shell_quote(dir.string()) + " && " +
                                vdlab("plan " + shell_quote(experiment(dir, "{torchscript: \"" + missing + "\"}"))));
  EXPECT_EQ(plan.code, 2) << plan.output;
  EXPECT_NE(plan.output.find(missing + ": no such file"), std::string::npos) << plan.output;
  no_markers();

  // `vdlab submit` runs sbatch with an argument list: a stand-in sbatch records what it was given.
  fs::create_directories(dir / "bin");
  const std::string args_file = (dir / "sbatch-args").string();
  write_file(dir / "bin" / "sbatch",
             "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + shell_quote(args_file) + "\necho 4242\n");
  ::chmod((dir / "bin" / "sbatch").c_str(), 0755);
  const std::string out = (dir / ("out " + evil)).string();
  const std::string exp = experiment(dir, "{name: diffusers-test}", "[mm]", "\"x\\ntouch M7\"");
  const auto submit = run_command("cd " + shell_quote(dir.string()) + " && PATH=" + shell_quote((dir / "bin").string()) +
                                  ":$PATH " + shell_quote(vdlab_binary()) + " submit " + shell_quote(exp) + " --out " +
                                  shell_quote(out) + " --cache " + shell_quote((dir / "cache").string()));
  ASSERT_EQ(submit.code, 0) << submit.output;
  const std::string script = out + "/slurm/cells.sbatch";
  const auto given = lines_of(read_text(args_file));
  ASSERT_FALSE(given.empty());
  EXPECT_EQ(given.front(), "--parsable");
  EXPECT_EQ(given.back(), script);  // one argument, metacharacters and all
  // The batch script keeps every value a word: run as Slurm would run task 0, it makes the cell.
  const std::string text = read_text(script);
  EXPECT_NE(text.find("#SBATCH --job-name=vdlab-x_touch_M7-cells\n"), std::string::npos) << text;
  const auto task = run_command("cd " + shell_quote(dir.string()) + " && SLURM_ARRAY_JOB_ID=4242 SLURM_ARRAY_TASK_ID=0 "
                                "SLURM_CPUS_PER_TASK=1 bash " + shell_quote(script));
  EXPECT_EQ(task.code, 0) << task.output;
  bool made = false;
  for (const auto& f : fs::directory_iterator(out + "/cells")) made |= f.path().extension() == ".h5";
  EXPECT_TRUE(made) << task.output;
  no_markers();
  EXPECT_FALSE(fs::exists(dir / "M7"));
}

}  // namespace
}  // namespace vdlab
