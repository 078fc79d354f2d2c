#include "results/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "results/cairo_plot.h"
#include "results/comparison.h"
#include "results/sweep_summary.h"
#include "support/sweep_fixture.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::FixtureCell;

std::vector<LabelledCell> fixture_cells(const fs::path& dir, double unipc_shift = 0.02, const std::string& sha = FixtureCell().fvd_extractor_sha) {
  fs::remove_all(dir);
  testing::write_fixture_sweep(dir, unipc_shift, sha);
  std::vector<LabelledCell> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir / "cells")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    const std::string id = p.stem().string();
    const std::size_t hash_dash = id.rfind('-'), seed_dash = id.rfind('-', hash_dash - 1);
    out.push_back({id.substr(0, seed_dash), read_cell(p.string())});
  }
  return out;
}

const SweepValue* find_value(const Sweep& s, const std::string& label, std::uint64_t seed, const std::string& metric) {
  for (const auto& v : s.values)
    if (s.cells[v.cell].label == label && s.cells[v.cell].seed == seed && v.metric == metric) return &v;
  return nullptr;
}

TEST(SweepTest, OneRowPerCellAndMetricWithFlattenedParameters) {
  const Sweep s = sweep_from_cells(fixture_cells(fs::temp_directory_path() / "vdlab_sweep_rows"));
  ASSERT_EQ(s.cells.size(), 12u);
  EXPECT_EQ(s.values.size(), 12u * 3);  // fvd, mm, flow_motion; the skipped clip_sim is listed apart
  EXPECT_EQ(s.skipped.size(), 12u);
  const SweepCell& c = s.cells.front();
  ASSERT_NE(c.param("variant.sampler.steps"), nullptr);
  EXPECT_EQ(c.param("dataset.split")->get<std::string>(), "test");
  EXPECT_EQ(c.param("seed"), nullptr);  // the seed is its own column
  EXPECT_EQ(c.split, "moving-shapes:test");
  const auto swept = s.swept_params();
  EXPECT_EQ(swept, (std::vector<std::string>{"variant.sampler.name", "variant.sampler.steps"}));
  const SweepValue* fvd = find_value(s, "ddim-steps=10", 1, "fvd[tiny-i3d]");
  ASSERT_NE(fvd, nullptr);
  EXPECT_EQ(fvd->protocol, "stylegan-v,biased");
  EXPECT_EQ(fvd->extractor_sha256.substr(0, 8), "aa11bb22");
  EXPECT_TRUE(fvd->per_sample.empty());
  EXPECT_EQ(find_value(s, "ddim-steps=10", 1, "mm")->per_sample.size(), 6u);
}

TEST(SweepTest, RoundTripsThroughSweepH5) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_sweep_h5";
  Sweep s = sweep_from_cells(fixture_cells(dir));
  s.provenance = {{"collected_from", dir.string()}};
  write_sweep_h5(s, (dir / "sweep.h5").string());
  const Sweep r = read_sweep_h5((dir / "sweep.h5").string());
  ASSERT_EQ(r.values.size(), s.values.size());
  ASSERT_EQ(r.cells.size(), s.cells.size());
  EXPECT_EQ(r.provenance, s.provenance);
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    EXPECT_EQ(r.values[i].metric, s.values[i].metric);
    EXPECT_EQ(r.values[i].value, s.values[i].value);
    EXPECT_EQ(r.values[i].per_sample, s.values[i].per_sample);
    EXPECT_EQ(r.values[i].extractor_sha256, s.values[i].extractor_sha256);
    EXPECT_EQ(r.cells[r.values[i].cell].id, s.cells[s.values[i].cell].id);
    EXPECT_EQ(r.cells[r.values[i].cell].seed, s.cells[s.values[i].cell].seed);
  }
  EXPECT_EQ(r.cells[0].param("variant.sampler.steps")->get<double>(), s.cells[0].param("variant.sampler.steps")->get<double>());
  EXPECT_THROW(read_sweep_h5((dir / "nothing.h5").string()), IoError);
}

TEST(SweepTest, RelativeMetricsFromPerSampleMeansAgainstTheBaselineOnTheSameSeed) {
  Sweep s = sweep_from_cells(fixture_cells(fs::temp_directory_path() / "vdlab_sweep_rel"));
  const std::size_t before = s.values.size();
  EXPECT_EQ(add_relative_metrics(s, "ddim-steps=10"), 12u * 2);  // mm and flow_motion of every cell
  EXPECT_EQ(s.values.size(), before + 24);
  const SweepValue* rel = find_value(s, "unipc-steps=10", 2, "motion_dynamics[vs-ddim-steps=10]");
  ASSERT_NE(rel, nullptr);
  auto mean = [](const std::vector<double>& v) {
    double t = 0;
    for (double x : v) t += x;
    return t / double(v.size());
  };
  const double c = mean(find_value(s, "unipc-steps=10", 2, "flow_motion")->per_sample);
  const double b = mean(find_value(s, "ddim-steps=10", 2, "flow_motion")->per_sample);
  EXPECT_NEAR(rel->value, (c - b) / b, 1e-12);
  EXPECT_NE(find_value(s, "unipc-steps=10", 2, "mm[rel-vs-ddim-steps=10]"), nullptr);
  EXPECT_EQ(relative_metric_key("fvd[tiny-i3d]", "a"), "fvd[tiny-i3d,rel-vs-a]");
  EXPECT_THROW(add_relative_metrics(s, "no-such-variant"), ConfigError);
}

TEST(SweepTest, CsvHasOneLinePerRowAndEveryParameterColumn) {
  const Sweep s = sweep_from_cells(fixture_cells(fs::temp_directory_path() / "vdlab_sweep_csv"));
  const std::string csv = sweep_csv(s);
  std::size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  EXPECT_EQ(lines, s.values.size() + 1);
  EXPECT_NE(csv.find("variant.sampler.steps"), std::string::npos);
  EXPECT_NE(csv.find(",fvd[tiny-i3d],\"stylegan-v,biased\","), std::string::npos) << csv.substr(0, 600);
}

TEST(SweepSummaryTest, StudentTIntervalMatchesScipy) {
  double mean, sd, low, high;
  t_interval({1.0, 2.0, 4.0}, 0.95, mean, sd, low, high);
  // scipy.stats.t.ppf(0.975, 2) = 4.302652729911275
  const double half = 4.302652729911275 * std::sqrt(7.0 / 3.0) / std::sqrt(3.0);
  EXPECT_NEAR(mean, 7.0 / 3.0, 1e-12);
  EXPECT_NEAR(high - mean, half, 1e-9);
  EXPECT_NEAR(mean - low, half, 1e-9);
  t_interval({1.0}, 0.95, mean, sd, low, high);
  EXPECT_TRUE(std::isnan(low));
}

TEST(SweepSummaryTest, TwoExtractorFilesOfOneKeyAreTwoColumnsNeverPooled) {
  auto cells = fixture_cells(fs::temp_directory_path() / "vdlab_sweep_cols");
  // Seed 2 of every variant scored with another extractor file under the same key.
  for (auto& c : cells)
    if (c.record.config["seed"] == 2)
      for (auto& m : c.record.metrics)
        if (m.key == "fvd[tiny-i3d]") m.protocol["extractor"]["sha256"] = "ffff0000";
  const auto rows = summarise_sweep(sweep_from_cells(cells));
  int fvd_groups_of_ddim10 = 0;
  for (const auto& r : rows)
    if (r.label == "ddim-steps=10" && r.metric == "fvd[tiny-i3d]") {
      ++fvd_groups_of_ddim10;
      EXPECT_EQ(r.values.size(), r.extractor_sha256 == "ffff0000" ? 1u : 2u);
    }
  EXPECT_EQ(fvd_groups_of_ddim10, 2);
  const SweepTables t = sweep_tables(rows, "t", 0.95);
  EXPECT_NE(t.markdown.find("fvd[tiny-i3d] (protocol stylegan-v,biased, extractor ffff0000)"), std::string::npos) << t.markdown;
  EXPECT_NE(t.latex.find("\\toprule"), std::string::npos);
  EXPECT_NE(t.latex.find("\\bottomrule"), std::string::npos);
  EXPECT_NE(t.latex.find("fvd[tiny-i3d] (protocol stylegan-v,biased, extractor aa11bb22) $\\downarrow$"), std::string::npos)
      << t.latex;
}

TEST(SweepSummaryTest, PlotsAMetricAgainstTheSweptNumericParameterWithASeriesPerSampler) {
  const Sweep s = sweep_from_cells(fixture_cells(fs::temp_directory_path() / "vdlab_sweep_plots"));
  const auto plots = sweep_plots(s);
  ASSERT_EQ(plots.size(), 3u);  // fvd, mm, flow_motion against variant.sampler.steps
  const auto it = std::find_if(plots.begin(), plots.end(), [](const SweepPlot& p) { return p.title.rfind("fvd", 0) == 0; });
  ASSERT_NE(it, plots.end());
  const SweepPlot& fvd = *it;
  EXPECT_EQ(fvd.file_stem, "fvd_tiny-i3d_-vs-variant.sampler.steps");
  EXPECT_EQ(fvd.x_label, "variant.sampler.steps");
  ASSERT_EQ(fvd.series.size(), 2u);
  EXPECT_EQ(fvd.series[0].label, "name=ddim");
  EXPECT_EQ(fvd.series[0].x, (std::vector<double>{10, 20}));
  // fvd = 40 - steps/10 + seed over seeds 0, 1, 2: mean 40 - 1 + 1 = 40 at 10 steps.
  EXPECT_NEAR(fvd.series[0].y[0], 40.0, 1e-12);
  EXPECT_NEAR(fvd.series[0].error[0], 4.302652729911275 * 1.0 / std::sqrt(3.0), 1e-9);
}

TEST(CairoPlotTest, WritesPngAndPdf) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_cairo_plot";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<PlotSeries> series = {{"a", {1, 2, 3}, {1, 4, 2}, {0.5, 0.5, 0.2}}, {"b", {1, 3}, {2, 3}, {}}};
  write_line_plot((dir / "p.png").string(), "title", "x", "y", series);
  write_line_plot((dir / "p.pdf").string(), "title", "x", "y", series);
  std::string png(8, '\0'), pdf(5, '\0');
  std::ifstream((dir / "p.png").string(), std::ios::binary).read(png.data(), 8);
  std::ifstream((dir / "p.pdf").string(), std::ios::binary).read(pdf.data(), 5);
  EXPECT_EQ(png, std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(pdf, "%PDF-");
  EXPECT_GT(fs::file_size(dir / "p.png"), 2000u);
  EXPECT_THROW(write_line_plot((dir / "p.jpg").string(), "t", "x", "y", series), ConfigError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);  // no temp file left
}

// ---- comparison ----

Sweep fixture_sweep(const std::string& name, double shift, const std::string& sha = FixtureCell().fvd_extractor_sha) {
  return sweep_from_cells(fixture_cells(fs::temp_directory_path() / name, shift, sha));
}

const ComparisonRow* row_of(const Comparison& c, const std::string& variant, const std::string& metric) {
  for (const auto& r : c.rows)
    if (r.variant == variant && r.metric == metric) return &r;
  return nullptr;
}

TEST(ComparisonTest, VerdictsFollowTheMetricsDirection) {
  const Sweep cand = fixture_sweep("vdlab_cmp_cand", 0.05), base = fixture_sweep("vdlab_cmp_base", 0.0);
  CompareOptions o;
  o.replicates = 400;
  const Comparison c = compare_sweeps(cand, base, o);
  EXPECT_TRUE(c.refusals.empty());
  // unipc gets +0.05 on every mm sample: higher is better, so better; ddim is identical: no difference.
  const ComparisonRow* up = row_of(c, "unipc-steps=10", "mm");
  ASSERT_NE(up, nullptr);
  EXPECT_TRUE(up->per_sample);
  EXPECT_EQ(up->pairs, 18u);
  EXPECT_NEAR(up->delta, 0.05, 1e-9);
  EXPECT_EQ(up->verdict, "better");
  EXPECT_EQ(row_of(c, "ddim-steps=10", "mm")->verdict, "no significant difference");
  // FVD is the same on both sides; lower is better and it has no per-sample values.
  const ComparisonRow* fvd = row_of(c, "ddim-steps=10", "fvd[tiny-i3d]");
  ASSERT_NE(fvd, nullptr);
  EXPECT_FALSE(fvd->per_sample);
  EXPECT_EQ(fvd->verdict, "no significant difference");

  // Against a baseline variant with higher FVD (ddim, +10 at 10 steps): unipc is better (lower).
  CompareOptions named = o;
  named.baseline_variant = "ddim-steps=10";
  named.candidate_variant = "unipc-steps=10";
  const Comparison d = compare_sweeps(cand, base, named);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(row_of(d, "unipc-steps=10", "fvd[tiny-i3d]")->verdict, "better");
  EXPECT_NEAR(row_of(d, "unipc-steps=10", "fvd[tiny-i3d]")->delta, -10.0, 1e-9);
  const auto tables = comparison_tables(d, named, "cand", "base");
  EXPECT_NE(tables.markdown.find("| unipc-steps=10 | ddim-steps=10 | moving-shapes:test | fvd[tiny-i3d] ↓ | 3 | 3 |"),
            std::string::npos)
      << tables.markdown;
  EXPECT_NE(tables.latex.find("\\midrule"), std::string::npos);
}

TEST(ComparisonTest, RefusesValuesFromDifferentExtractorFiles) {
  const Sweep cand = fixture_sweep("vdlab_cmp_sha_a", 0.0);
  const Sweep base = fixture_sweep("vdlab_cmp_sha_b", 0.0, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  const Comparison c = compare_sweeps(cand, base, CompareOptions());
  ASSERT_EQ(c.refusals.size(), 4u);  // fvd of each of the four variants
  EXPECT_NE(c.refusals[0].find("aa11bb22cc33"), std::string::npos) << c.refusals[0];
  EXPECT_NE(c.refusals[0].find("0123456789ab"), std::string::npos) << c.refusals[0];
  EXPECT_EQ(c.refusals[0].find('\n'), std::string::npos);
  EXPECT_EQ(row_of(c, "ddim-steps=10", "fvd[tiny-i3d]"), nullptr);
  EXPECT_NE(row_of(c, "ddim-steps=10", "mm"), nullptr);  // the others are still matched
}

TEST(ComparisonTest, WarnsAboutUnmatchedSeedsAndSmallN) {
  auto cells = fixture_cells(fs::temp_directory_path() / "vdlab_cmp_seeds");
  std::vector<LabelledCell> two_seeds;
  for (auto& c : cells)
    if (c.record.config["seed"] != 2) two_seeds.push_back(c);
  const Comparison c = compare_sweeps(sweep_from_cells(two_seeds), sweep_from_cells(cells), CompareOptions());
  const ComparisonRow* r = row_of(c, "ddim-steps=20", "mm");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->seeds, (std::vector<std::uint64_t>{0, 1}));
  std::string all;
  for (const auto& w : r->warnings) all += w + "\n";
  EXPECT_NE(all.find("seeds only in the baseline: 2"), std::string::npos) << all;
  EXPECT_NE(all.find("small n: 2 matched seed(s)"), std::string::npos) << all;
}

TEST(ComparisonTest, NamesTheVariantsWhenNoneMatch) {
  const Sweep cand = fixture_sweep("vdlab_cmp_names", 0.0);
  CompareOptions o;
  o.baseline_variant = "euler";
  EXPECT_THROW(compare_sweeps(cand, cand, o), ConfigError);
}

}  // namespace
}  // namespace vdlab
