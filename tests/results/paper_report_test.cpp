// The paper report from records alone: values per row and column (metric, stat, timing, relative to a
// baseline per seed), published values beside ours, figures, and verdicts computed from the numbers.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "results/paper_report.h"

namespace vdlab {
namespace {

PaperCell cell(const std::string& label, std::uint64_t seed, double motion, double fid, double attenuation) {
  PaperCell c;
  c.label = label;
  c.seed = seed;
  c.record.id = label + "-s" + std::to_string(seed);
  c.record.hash = "h-" + c.record.id;
  c.record.provenance = {{"git_commit", "abc123"}};
  MetricValue m;
  m.key = "flow_motion";
  m.value = motion;
  MetricValue f;
  f.key = "fid[tiny-inception]";
  f.value = fid;
  f.protocol = {{"extractor", {{"sha256", "feedbeef"}}}};
  c.record.metrics = {m, f};
  c.record.stats = {{"edit", {{"attenuation", {attenuation, attenuation + 0.2}}}}};
  c.record.timings = {{"generate_s", 2.0 + double(seed)}};
  return c;
}

Json paper() {
  return Json::parse(R"json({
    "title": "Test paper",
    "tables": [{
      "name": "T1",
      "rows": [{"label": "Base", "variant": "base"}, {"label": "Safe", "variant": "safe"}, {"label": "Bold", "variant": "bold"}],
      "columns": [
        {"title": "Motion (%)", "metric": "flow_motion", "relative_to": "base", "percent": true},
        {"title": "FID", "metric": "fid"},
        {"title": "attenuation", "stat": "edit.attenuation"},
        {"title": "s", "timing": "generate_s"}],
      "published": {"Safe": {"Motion (%)": 12.5, "FID": "n/r"}}}],
    "figures": [{"name": "Motion by strength", "column": {"title": "Motion", "metric": "flow_motion"}, "x_label": "strength",
                 "series": [{"label": "ours", "points": [{"x": 0, "variant": "base"}, {"x": 1, "variant": "safe"}, {"x": 2, "variant": "bold"}]}]}],
    "claims": [
      {"claim": "motion rises", "table": "T1", "column": "Motion (%)", "increasing": ["Base", "Safe", "Bold"], "theirs": "+12.5 %"},
      {"claim": "FID falls", "table": "T1", "column": "FID", "decreasing": ["Base", "Safe", "Bold"]},
      {"claim": "Safe has the best FID", "table": "T1", "column": "FID", "best": {"among": ["Base", "Safe", "Bold"], "expected": ["Safe"], "better": "lower"}},
      {"claim": "overhead 2 %", "untestable": "timing on their GPU"}]
  })json");
}

PaperReportInput input() {
  PaperReportInput in;
  in.paper = paper();
  // motion: base 1.0 / 2.0, safe 1.5 / 1.9 (+50 %, -5 %), bold 2.0 / 4.0 (+100 %, +100 %)
  in.cells = {cell("base", 0, 1.0, 10, 0.7), cell("base", 1, 2.0, 12, 0.7), cell("safe", 0, 1.5, 9, 0.5),
              cell("safe", 1, 1.9, 9, 0.5),  cell("bold", 0, 2.0, 11, 0.1), cell("bold", 1, 4.0, 11, 0.3)};
  in.provenance = {{"vdlab_version", "0.1"}, {"git_commit", "abc123"}, {"command", "vdlab paper-report x"}};
  return in;
}

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(PaperReport, ValuesAreMeansOverSeedsAndRelativeValuesArePairedBySeed) {
  const PaperReport r = build_paper_report(input());
  // Safe: (+50 % - 5 %) / 2 = 22.5 %, sd = 38.89; published 12.5 beside it (a "theirs" column only for
  // the columns the source published).
  EXPECT_TRUE(contains(r.markdown, "| | Motion (%) (ours) | Motion (%) (theirs) | FID (ours) | FID (theirs) | attenuation (ours) | s (ours) |"))
      << r.markdown;
  EXPECT_TRUE(contains(r.markdown, "| Safe | 22.5 ± 38.89 | 12.5 | 9 ± 0 | n/r |")) << r.markdown;
  // Base relative to itself is 0; its attenuation is the mean of the stored array (0.8), timing per seed.
  EXPECT_TRUE(contains(r.markdown, "| Base | 0 ± 0 |  | 11 ± 1.414 |  | 0.8 ± 0 | 2.5 ± 0.7071 |")) << r.markdown;
  EXPECT_TRUE(contains(r.markdown, "Regenerate: `vdlab paper-report x`"));
  // Every number behind the table, with its cell's hash, commit and extractor file.
  EXPECT_TRUE(contains(r.csv, "T1,Safe,FID,safe,1,9,safe-s1,h-safe-s1,abc123,feedbeef\n")) << r.csv;
  EXPECT_TRUE(contains(r.csv, "T1,Bold,Motion (%),bold,0,100,bold-s0,h-bold-s0,abc123,\n")) << r.csv;
}

TEST(PaperReport, VerdictsComeFromTheNumbers) {
  const std::string md = build_paper_report(input()).markdown;
  // Motion: 0 < 22.5 < 100 holds, but Base vs Safe is within one standard error (se 27.5 over 2 seeds).
  EXPECT_TRUE(contains(md, "| motion rises | +12.5 % | Motion (%): Base 0 < Safe 22.5 < Bold 100 | holds; within one standard error over seeds: Base vs Safe |"))
      << md;
  // FID: 11 > 9 < 11 breaks the order at Safe vs Bold.
  EXPECT_TRUE(contains(md, "does not hold (Safe vs Bold out of order)")) << md;
  EXPECT_TRUE(contains(md, "| Safe has the best FID |  | FID: Base 11, Safe 9, Bold 11; best: Safe | holds |")) << md;
  EXPECT_TRUE(contains(md, "| overhead 2 % |  |  | cannot be tested here: timing on their GPU |")) << md;
}

TEST(PaperReport, MissingCellsMakeAClaimUntestableAndAreNamed) {
  PaperReportInput in = input();
  in.cells.erase(std::remove_if(in.cells.begin(), in.cells.end(), [](const PaperCell& c) { return c.label == "bold"; }),
                 in.cells.end());
  in.missing = {"bold-s0", "bold-s1"};
  const std::string md = build_paper_report(in).markdown;
  EXPECT_TRUE(contains(md, "**Unfinished cells** (their values are missing below): `bold-s0`, `bold-s1`")) << md;
  EXPECT_TRUE(contains(md, "cannot be tested here: Bold has no value (no finished cell of variant 'bold')")) << md;
}

TEST(PaperReport, FiguresAreSvgLinePlotsWithTheirDataTable) {
  const PaperReport r = build_paper_report(input());
  ASSERT_EQ(r.figures.size(), 1u);
  EXPECT_EQ(r.figures[0].file, "Motion_by_strength.svg");
  EXPECT_EQ(r.figures[0].svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(std::count(r.figures[0].svg.begin(), r.figures[0].svg.end(), '\n') > 5, true);
  EXPECT_TRUE(contains(r.figures[0].svg, "<polyline"));
  EXPECT_TRUE(contains(r.markdown, "![Motion by strength](Motion_by_strength.svg)"));
  EXPECT_TRUE(contains(r.markdown, "| ours | 2 | 3 ± 1.414 |")) << r.markdown;
}

TEST(PaperReport, BadSectionsNameTheField) {
  auto error_of = [](const Json& paper) {
    PaperReportInput in = input();
    in.paper = paper;
    try {
      build_paper_report(in);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  Json p = paper();
  p["tables"][0]["columns"][1]["metric"] = "fi";  // no key named so: a missing value, not an error
  EXPECT_EQ(error_of(p), "");
  p = paper();
  p["tables"][0]["columns"][0]["stat"] = "x";
  EXPECT_EQ(error_of(p), "paper.tables[0].columns[0]: give exactly one of metric, stat, timing");
  p = paper();
  p["claims"][0]["increasing"] = Json::array({"Base", "Nobody"});
  EXPECT_EQ(error_of(p), "paper.claims[0]: 'Nobody' is not a row of table 'T1'");
  p = paper();
  p["claims"][1]["column"] = "FVD";
  EXPECT_EQ(error_of(p), "paper.claims[1].column: 'FVD' is not a column of table 'T1'");
  p = paper();
  p["tables"][0]["rows"][0]["colour"] = "red";
  EXPECT_EQ(error_of(p), "paper.tables[0].rows[0].colour: unknown field (one of: label, variant)");
  // A metric name that two keys share must be given whole.
  PaperReportInput in = input();
  MetricValue other;
  other.key = "fid[inception-2015-12-05]";
  other.value = 3;
  in.cells[0].record.metrics.push_back(other);
  try {
    build_paper_report(in);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "paper.tables[0].columns[1].metric: 'fid' names several keys (fid[tiny-inception], "
              "fid[inception-2015-12-05]); give the whole key");
  }
}

TEST(PaperReport, CurveFiguresPlotPerStepArraysAndSpeedupColumnsDivideTheBaseline) {
  PaperReportInput in = input();
  // Per-step curves: stats.c.y per cell, the x axis stats.c.x; base seeds 0 and 1 differ, bold has none.
  for (auto& c : in.cells) {
    c.record.stats["c"] = {{"x", {900, 500, 100}}, {"y", {0.5, 0.6 + 0.1 * double(c.seed), 0.2}}};
    if (c.label == "bold") c.record.stats.erase("c");
  }
  in.paper["tables"][0]["columns"].push_back({{"title", "speed-up"}, {"timing", "generate_s"}, {"relative_to", "safe"}, {"speedup", true}});
  in.paper["figures"].push_back(Json::parse(R"json({"name": "NMI per step", "x_label": "t", "y_label": "NMI",
      "series": [{"label": "base", "variant": "base", "x": "c.x", "y": "c.y"},
                 {"label": "bold", "variant": "bold", "x": "c.x", "y": "c.y"}]})json"));
  const PaperReport r = build_paper_report(in);
  // Element-wise mean and sd over seeds at each stored x.
  EXPECT_TRUE(contains(r.markdown, "| series | t | NMI |")) << r.markdown;
  EXPECT_TRUE(contains(r.markdown, "| base | 900 | 0.5 |\n| base | 500 | 0.65 ± 0.07071 |\n| base | 100 | 0.2 |")) << r.markdown;
  EXPECT_TRUE(contains(r.markdown, "| bold | | n/a (no cell of variant 'bold' has the stat 'c.y') |")) << r.markdown;
  ASSERT_EQ(r.figures.size(), 2u);
  EXPECT_TRUE(contains(r.figures[1].svg, "<svg")) << r.figures[1].svg;
  EXPECT_TRUE(contains(r.csv, "NMI per step,base,c.y[1],base,1,0.7,base-s1,h-base-s1,abc123,\n")) << r.csv;
  // Speed-up: safe's seconds over this row's, per seed (timings 2 and 3 for every variant: 1 each).
  EXPECT_TRUE(contains(r.markdown, "| 1 ± 0 |\n| Safe |")) << r.markdown;
  EXPECT_TRUE(contains(r.markdown, "*speed-up*: per seed, value of `safe` / value on the same seed.")) << r.markdown;
  // A curve series must name its variant and both paths; speedup needs a baseline.
  in.paper["figures"][1]["series"][0].erase("x");
  EXPECT_THROW(build_paper_report(in), ConfigError);
  PaperReportInput bad = input();
  bad.paper["tables"][0]["columns"].push_back({{"title", "s2"}, {"timing", "generate_s"}, {"speedup", true}});
  EXPECT_THROW(build_paper_report(bad), ConfigError);
}

TEST(PaperReport, AnOrderAcrossTheColumnsOfOneRow) {
  PaperReportInput in = input();
  // Safe: FID 9, attenuation 0.6, s 2.5 -> FID > s > attenuation.
  in.paper["claims"] = Json::parse(R"json([
      {"claim": "falls across", "table": "T1", "across": "Safe", "decreasing": ["FID", "s", "attenuation"]},
      {"claim": "rises across", "table": "T1", "across": "Safe", "increasing": ["FID", "s"]}])json");
  const PaperReport r = build_paper_report(in);
  EXPECT_TRUE(contains(r.markdown, "| falls across |  | Safe: FID 9 > s 2.5 > attenuation 0.6 | holds")) << r.markdown;
  EXPECT_TRUE(contains(r.markdown, "| rises across |  | Safe: FID 9 < s 2.5 | does not hold")) << r.markdown;
  in.paper["claims"] = Json::parse(R"json([{"claim": "x", "table": "T1", "across": "Safe", "decreasing": ["FID", "nope"]}])json");
  EXPECT_THROW(build_paper_report(in), ConfigError);
}

}  // namespace
}  // namespace vdlab
