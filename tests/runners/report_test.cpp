// The report's tables from fabricated cell records: rows per (variant, split), a reference row per split,
// a column per metric key and extractor file.
#include <gtest/gtest.h>

#include <sstream>

#include "core/hash.h"
#include "runners/report.h"

namespace vdlab {
namespace {

const Json kTest = {{"name", "moving-shapes"}, {"split", "test"}, {"clips", 8}};
const Json kVal = {{"name", "moving-shapes"}, {"split", "val"}, {"clips", 8}};

MetricValue value(const std::string& key, double v, const std::string& sha = "") {
  MetricValue m;
  m.key = key;
  m.value = v;
  if (!sha.empty()) m.protocol = {{"extractor", {{"sha256", sha}}}};
  return m;
}

std::pair<CellSpec, CellRecord> cell(const std::string& label, const Json& dataset, std::uint64_t seed,
                                     std::vector<MetricValue> metrics) {
  CellSpec s;
  s.label = label;
  s.seed = seed;
  s.id = label + "-s" + std::to_string(seed) + "-" + dataset.at("split").get<std::string>();
  s.hash = s.id;
  s.config = {{"dataset", dataset}};
  CellRecord r;
  r.id = s.id;
  r.metrics = std::move(metrics);
  r.stats = {{"nfe", 10}};
  r.timings = {{"generate_s", 1.0}};
  return {s, r};
}

// The Markdown row that starts with "| <variant> | <split> |", split into its cells.
std::vector<std::string> row(const std::string& md, const std::string& variant, const std::string& split) {
  std::istringstream lines(md);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| " + variant + " | " + split + " |", 0) != 0) continue;
    std::vector<std::string> cells;
    std::string part;
    std::istringstream ss(line.substr(1));
    while (std::getline(ss, part, '|')) {
      while (!part.empty() && part.front() == ' ') part.erase(part.begin());
      while (!part.empty() && part.back() == ' ') part.pop_back();
      cells.push_back(part);
    }
    return cells;
  }
  return {};
}

TEST(Report, SplitsStayApartWithTheirOwnReference) {
  const std::vector<std::pair<CellSpec, CellRecord>> cells = {
      cell("ddim", kTest, 0, {value("mm", 1.0)}), cell("ddim", kTest, 1, {value("mm", 3.0)}),
      cell("ddim", kVal, 0, {value("mm", 10.0)}), cell("ddim", kVal, 1, {value("mm", 30.0)})};
  std::map<std::string, std::vector<MetricValue>> refs;
  refs[config_hash(kTest)] = {value("mm", 0.25)};
  refs[config_hash(kVal)] = {value("mm", 0.75)};
  const ReportTables t = build_report_tables("r", 2, cells, refs);
  // One row per (variant, split): the grid is not averaged across splits (which would give 11).
  EXPECT_EQ(row(t.markdown, "ddim", "moving-shapes:test")[2], "2 ± 1.414") << t.markdown;
  EXPECT_EQ(row(t.markdown, "ddim", "moving-shapes:val")[2], "20 ± 14.14") << t.markdown;
  // Each split's reference row carries that split's values.
  EXPECT_EQ(row(t.markdown, "real train split (noise floor)", "moving-shapes:test")[2], "0.25") << t.markdown;
  EXPECT_EQ(row(t.markdown, "real train split (noise floor)", "moving-shapes:val")[2], "0.75") << t.markdown;
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_NE(t.csv.find(",moving-shapes:val,"), std::string::npos);
}

TEST(Report, OneKeyFromTwoExtractorFilesIsTwoColumns) {
  const std::vector<std::pair<CellSpec, CellRecord>> cells = {
      cell("a", kTest, 0, {value("fvd[tiny-i3d]", 100.0, "aaaaaaaaaaaa"), value("mm", 1.0)}),
      cell("b", kTest, 0, {value("fvd[tiny-i3d]", 200.0, "bbbbbbbbbbbb"), value("mm", 2.0)})};
  const ReportTables t = build_report_tables("r", 1, cells, {});
  EXPECT_NE(t.markdown.find("fvd[tiny-i3d] (extractor aaaaaaaa)"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("fvd[tiny-i3d] (extractor bbbbbbbb)"), std::string::npos) << t.markdown;
  const auto a = row(t.markdown, "a", "moving-shapes:test"), b = row(t.markdown, "b", "moving-shapes:test");
  ASSERT_GE(a.size(), 5u);
  EXPECT_EQ(a[2], "100");
  EXPECT_EQ(a[3], "n/a");  // a's value never lands in b's column
  EXPECT_EQ(b[2], "n/a");
  EXPECT_EQ(b[3], "200");
  // The CSV names the extractor file and quotes keys that hold a separator.
  const ReportTables k = build_report_tables("r", 1, {cell("a", kTest, 0, {value("fvd[tiny-i3d,f8]", 5.0, "cc")})}, {});
  EXPECT_NE(k.csv.find(",\"fvd[tiny-i3d,f8]\",cc,5"), std::string::npos) << k.csv;
}

TEST(Report, SplitNamesTellApartTwoConfigsOfOneSplit) {
  CellSpec a, b;
  a.config = {{"dataset", kTest}};
  Json other = kTest;
  other["clips"] = 16;
  b.config = {{"dataset", other}};
  const auto names = split_names({a, b, a});
  ASSERT_EQ(names.size(), 2u);
  EXPECT_NE(names[0].second.display, names[1].second.display);
  EXPECT_EQ(names[0].second.display.rfind("moving-shapes:test#", 0), 0u);
}

// The reference row reads the split's training clips at the same sizes: the noise floor.
TEST(ReportNoiseFloor, IsTheTrainingSplitOfTheSameConfig) {
  const Json test = {{"name", "moving-shapes"}, {"split", "test"}, {"clips", 64}, {"frames", 8}, {"size", 32}};
  Json train = test;
  train["split"] = "train";
  EXPECT_EQ(noise_floor_split(test), train);
  EXPECT_EQ(noise_floor_split(train), train);  // a training split has no other: itself
  const Json store = {{"name", "h5"}, {"path", "clips.h5"}};
  EXPECT_EQ(noise_floor_split(store), store);
}

}  // namespace
}  // namespace vdlab
