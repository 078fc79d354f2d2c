// `vdlab collect` and `vdlab compare` on synthetic finished cells (tests/support/sweep_fixture.h), checked
// from outside vdlab: sweep.h5 in h5py, cells.csv in pandas, and the bootstrap intervals against a
// brute-force numpy bootstrap (scripts/reference/compare_bootstrap.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runners/cli_support.h"
#include "support/sweep_fixture.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using namespace vdlab::testing;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string vdlab_cmd(const std::string& args) { return vdlab_binary() + " " + args; }

TEST(CollectCommandIntegration, SweepH5AndCellsCsvOpenInH5pyAndPandas) {
  const fs::path dir = fresh_dir("vdlab_collect_python");
  write_fixture_sweep(dir);
  const CommandResult r = run_command(vdlab_cmd("collect " + dir.string() + " --relative-to ddim-steps=10 --samples 1 -q"));
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"sweep.h5", "cells.csv", "tables/summary.md", "tables/summary.csv", "tables/summary.tex",
                        "report.html", "plots/mm-vs-variant.sampler.steps.png", "plots/mm-vs-variant.sampler.steps.pdf"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  const std::string script = write_file(dir / "check.py", R"(
import json, sys
import h5py, numpy as np, pandas as pd
d = sys.argv[1]
df = pd.read_csv(d + '/cells.csv')
f = h5py.File(d + '/sweep.h5', 'r')
assert f.attrs['format'] == 'vdlab-sweep/1'
t = f['table']
columns = json.loads(t.attrs['columns'])
assert set(c for c in columns if c != 'per_sample_offset') == set(df.columns), (columns, list(df.columns))
n = len(t['id'])
assert len(df) == n == 12 * 3 + 12 * 2, (len(df), n)
text = lambda c: np.array([s.decode() if isinstance(s, bytes) else s for s in t[c][:]])
assert (text('metric') == df['metric'].values).all()
assert np.allclose(t['value'][:], df['value'].values, rtol=0, atol=1e-15)
assert (t['seed'][:] == df['seed'].values).all()
assert np.allclose(t['variant.sampler.steps'][:], df['variant.sampler.steps'].values)
assert set(df['variant.sampler.name']) == {'ddim', 'unipc'}
# Per-sample values behind a row: the cell file's own, and their mean is the row's value.
values = f['per_sample/values'][:]
row = int(np.where((text('metric') == 'mm') & (text('label') == 'unipc-steps=20') & (t['seed'][:] == 1))[0][0])
o, k = int(t['per_sample_offset'][row]), int(t['n_samples'][row])
cell = h5py.File(d + '/cells/' + text('id')[row] + '.h5', 'r')
assert k == 6 and np.array_equal(values[o:o + k], cell['metrics/mm/per_sample'][:])
assert abs(values[o:o + k].mean() - t['value'][row]) < 1e-12
# Set-level metrics carry their extractor file and protocol; relative metrics name their baseline.
fvd = df[df.metric == 'fvd[tiny-i3d]']
assert (fvd.n_samples == 0).all() and (fvd.protocol == 'stylegan-v,biased').all()
assert fvd.extractor_sha256.str.startswith('aa11bb22').all()
md = df[df.metric == 'motion_dynamics[vs-ddim-steps=10]']
assert len(md) == 12 and np.allclose(md[md.label == 'ddim-steps=10'].value, 0)
print('python ok', n)
)");
  const CommandResult py = run_command("/usr/bin/python3 " + script + " " + dir.string());
  EXPECT_EQ(py.code, 0) << py.output;
  EXPECT_NE(py.output.find("python ok 60"), std::string::npos) << py.output;

  const std::string md = read_text(dir / "tables/summary.md");
  EXPECT_NE(md.find("## moving-shapes:test"), std::string::npos) << md;
  EXPECT_NE(md.find("| unipc-steps=20 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Skipped metrics"), std::string::npos) << md;
}

TEST(CollectCommandIntegration, NamesAFolderWithoutCellsAndAnUnknownBaselineVariant) {
  const fs::path dir = fresh_dir("vdlab_collect_bad");
  const CommandResult none = run_command(vdlab_cmd("collect " + dir.string()));
  EXPECT_EQ(none.code, 2) << none.output;
  EXPECT_NE(none.output.find("no cells/ folder"), std::string::npos) << none.output;
  write_fixture_sweep(dir);
  const CommandResult rel = run_command(vdlab_cmd("collect " + dir.string() + " --relative-to euler -q"));
  EXPECT_EQ(rel.code, 2) << rel.output;
  EXPECT_NE(rel.output.find("--relative-to euler: no variant of that label"), std::string::npos) << rel.output;
}

// Two logged sweeps with their own per-sample noise; the candidate's unipc moves more (+0.05).
struct TwoSweeps {
  fs::path candidate, baseline;
};

TwoSweeps two_sweeps(const std::string& name, const std::string& baseline_sha = FixtureCell().fvd_extractor_sha) {
  const fs::path root = fresh_dir(name);
  TwoSweeps s{root / "candidate", root / "baseline"};
  write_fixture_sweep(s.candidate, 0.07, FixtureCell().fvd_extractor_sha, 1);
  write_fixture_sweep(s.baseline, 0.02, baseline_sha, 0);
  for (const auto& d : {s.candidate, s.baseline}) {
    const CommandResult r = run_command(vdlab_cmd("collect " + d.string() + " --samples 0 -q"));
    EXPECT_EQ(r.code, 0) << r.output;
  }
  return s;
}

TEST(CompareCommandIntegration, IntervalsMatchABruteForceNumpyBootstrapOnTheSameSamples) {
  const TwoSweeps s = two_sweeps("vdlab_compare_numpy");
  const fs::path out = s.candidate.parent_path() / "cmp";
  const CommandResult r = run_command(vdlab_cmd("compare " + (s.candidate / "sweep.h5").string() + " --baseline " +
                                            (s.baseline / "sweep.h5").string() + " --to " + out.string() +
                                            " --replicates 300 --seed 17"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| unipc-steps=10 | unipc-steps=10 | moving-shapes:test | mm ↑ | 3 | 18 |"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("better"), std::string::npos) << r.output;
  for (const char* f : {"comparison.md", "comparison.csv", "comparison.tex"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  const CommandResult py = run_command("/usr/bin/python3 " + std::string(VDLAB_SOURCE_DIR) +
                                       "/scripts/reference/compare_bootstrap.py " + (s.candidate / "sweep.h5").string() +
                                       " " + (s.baseline / "sweep.h5").string() + " " + (out / "comparison.csv").string() +
                                       " --replicates 300 --seed 17");
  EXPECT_EQ(py.code, 0) << py.output;
  EXPECT_EQ(count_occurrences(py.output, "ok "), 12) << py.output;  // 4 variants x (fvd, mm, flow_motion)

  // The same comparison straight from the run folders (their cells) gives the same table.
  const CommandResult from_dirs = run_command(vdlab_cmd("compare " + s.candidate.string() + " --baseline " + s.baseline.string() +
                                                    " --replicates 300 --seed 17 -q 2>/dev/null"));
  EXPECT_EQ(from_dirs.code, 0) << from_dirs.output;
  EXPECT_EQ(from_dirs.output.substr(from_dirs.output.find("| variant")), r.output.substr(r.output.find("| variant")));
}

TEST(CompareCommandIntegration, RefusesAcrossExtractorHashesInOneLineNamingBoth) {
  const TwoSweeps s = two_sweeps("vdlab_compare_refuse", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  const fs::path out = s.candidate.parent_path() / "cmp";
  const CommandResult r = run_command(vdlab_cmd("compare " + s.candidate.string() + " --baseline " + s.baseline.string() +
                                            " --variant ddim-steps=10 --to " + out.string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(count_occurrences(r.output, "refused: fvd[tiny-i3d]"), 1) << r.output;
  EXPECT_NE(r.output.find("extractor sha256 aa11bb22cc33 (candidate ddim-steps=10) vs 0123456789ab (baseline ddim-steps=10)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out / "comparison.csv"));
  // Leaving that metric out compares the rest.
  const CommandResult rest = run_command(vdlab_cmd("compare " + s.candidate.string() + " --baseline " + s.baseline.string() +
                                               " --variant ddim-steps=10 --metrics mm,flow_motion -q"));
  EXPECT_EQ(rest.code, 0) << rest.output;
}

TEST(CompareCommandIntegration, ShippedDemoBaselineIsFoundByName) {
  // results/baselines/demo.h5 (a collected demo run): its variants compared with one another, from a
  // folder where no results/ is (the name is looked up in the source tree).
  const fs::path out = fresh_dir("vdlab_compare_demo");
  const CommandResult r = run_command("cd " + out.string() + " && " +
                                      vdlab_cmd("compare demo --baseline demo --variant dpm++2m-steps=10 "
                                                "--baseline-variant ddim-steps=20 --replicates 500 -q --to " +
                                                out.string()));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| dpm++2m-steps=10 | ddim-steps=20 | moving-shapes:test | fvd[tiny-i3d,f8] ↓ | 3 | 3 |"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("| dpm++2m-steps=10 | ddim-steps=20 | moving-shapes:test | mm ↑ | 3 | 192 |"), std::string::npos)
      << r.output;  // 3 seeds x 64 per-sample pairs
  const std::string csv = read_text(out / "comparison.csv");
  EXPECT_EQ(count_occurrences(csv, "dpm++2m-steps=10,ddim-steps=20,moving-shapes:test,"), 9) << csv;
}

TEST(CompareCommandIntegration, NamesWhatItCannotRead) {
  const CommandResult r = run_command(vdlab_cmd("compare /nonexistent/run --baseline no-such-baseline"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/run: not a run's output folder"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vdlab
