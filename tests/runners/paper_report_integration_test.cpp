// `vdlab paper-report` as a user meets it: a run of an experiment with a `paper:` section becomes
// report.md and tables.csv in one command; unfinished cells are named; bad input is exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::fresh_dir;
using testing::run_command;
using testing::vdlab_binary;
using testing::write_file;

const char* kExperiment = R"yaml(
name: paper-smoke
backbone: {name: diffusers-test}
dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}
variants:
  - {method: uniform, label: few, sampler: {name: ddim, steps: 2}}
  - {method: uniform, label: many, sampler: {name: ddim, steps: 4}}
seeds: [0, 1]
metrics: [mm]
paper:
  title: "Smoke"
  tables:
    - name: "Steps"
      rows: [{label: "2 steps", variant: few}, {label: "4 steps", variant: many}]
      columns: [{title: MM, metric: mm}, {title: NFE, stat: nfe}]
      published: {"2 steps": {MM: 1.0}}
  claims:
    - {claim: "more steps, more NFE", table: "Steps", column: NFE, increasing: ["2 steps", "4 steps"]}
)yaml";

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(PaperReportCliIntegration, ARunBecomesTheReportInOneCommand) {
  const fs::path dir = fresh_dir("vdlab_paper_report_cli");
  const std::string exp = write_file(dir / "exp.yaml", kExperiment);
  const std::string common = " --out " + (dir / "run").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const std::string report = " --to " + (dir / "report").string();
  // Half the cells first (seed 0): the report names the others and cannot judge what they lack.
  ASSERT_EQ(run_command(vdlab_binary() + " run " + exp + " 'seeds=[0]'" + common).code, 0);
  auto r = run_command(vdlab_binary() + " paper-report " + exp + " --out " + (dir / "run").string() + report);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("2 planned cells are not finished"), std::string::npos) << r.output;
  std::string md = read(dir / "report" / "report.md");
  EXPECT_NE(md.find("**Unfinished cells**"), std::string::npos) << md;

  ASSERT_EQ(run_command(vdlab_binary() + " run " + exp + common).code, 0);
  r = run_command(vdlab_binary() + " paper-report " + exp + " --out " + (dir / "run").string() + report);
  ASSERT_EQ(r.code, 0) << r.output;
  md = read(dir / "report" / "report.md");
  EXPECT_EQ(md.find("**Unfinished cells**"), std::string::npos) << md;
  EXPECT_NE(md.find("Regenerate: `vdlab run " + exp + " --out "), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 steps | "), std::string::npos) << md;
  EXPECT_NE(md.find("| more steps, more NFE |  | NFE: 2 steps 2 < 4 steps 4 | holds |"), std::string::npos) << md;
  const std::string csv = read(dir / "report" / "tables.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 2 * 2) << csv;  // header + rows x columns x seeds

  // Bad input: no `paper:` section, no run folder; exit 2, one line, nothing written.
  const std::string plain = write_file(dir / "plain.yaml", "variants: [{method: uniform}]\n");
  r = run_command(vdlab_binary() + " paper-report " + plain + " --out " + (dir / "run").string() + " --to " + (dir / "x").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("has no `paper:` section"), std::string::npos) << r.output;
  r = run_command(vdlab_binary() + " paper-report " + exp + " --out " + (dir / "nowhere").string() + " --to " + (dir / "x").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(dir / "x"));
  // A malformed `paper:` section is caught when the experiment is read, before anything runs.
  const std::string bad = write_file(dir / "bad.yaml", "variants: [{method: uniform}]\npaper: {tables: [{name: T, rows: 3, columns: []}]}\n");
  r = run_command(vdlab_binary() + " plan " + bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("paper.tables[0].rows: expected a list of {label, variant}"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vdlab
