#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "results/cell_file.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

CellRecord example_cell() {
  CellRecord c;
  c.id = "uniform-ddim_s0_abcd";
  c.hash = "0123456789abcdef";
  c.config = {{"variant", {{"method", "uniform"}}}, {"seed", 0}};
  c.provenance = {{"git_commit", "abc"}, {"device", "cpu"}};
  c.stats = {{"nfe", 20}};
  c.timings = {{"sample_s", 1.5}};
  MetricValue mm;
  mm.key = "mm";
  mm.value = 0.1;
  mm.per_sample = {0.05, 0.15};
  mm.protocol = {{"protocol", "mean-abs-diff"}};
  MetricValue skipped;
  skipped.key = "fvd[i3d]";
  skipped.skipped = true;
  skipped.skip_reason = "i3d_torchscript.pt not found";
  c.metrics = {mm, skipped};
  Video v(2, 3, 4);
  for (std::size_t i = 0; i < v.data.size(); ++i) v.data[i] = std::uint8_t(i);
  c.samples = {v, v};
  c.captions = {"a red circle", "a blue square"};
  return c;
}

TEST(CellFileTest, RoundTrip) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_cell_file_test";
  fs::remove_all(dir);
  const std::string path = (dir / "cell.h5").string();
  write_cell(example_cell(), path);
  EXPECT_EQ(read_cell_hash(path), "0123456789abcdef");
  const CellRecord back = read_cell(path, true);
  EXPECT_EQ(back.config, example_cell().config);
  ASSERT_EQ(back.metrics.size(), 2u);
  EXPECT_EQ(back.metrics[1].key, "mm");  // groups come back in name order
  EXPECT_EQ(back.metrics[1].per_sample, (std::vector<double>{0.05, 0.15}));
  EXPECT_TRUE(back.metrics[0].skipped);
  EXPECT_TRUE(std::isnan(back.metrics[0].value));
  ASSERT_EQ(back.samples.size(), 2u);
  EXPECT_EQ(back.samples[1].data, example_cell().samples[1].data);
  EXPECT_EQ(back.captions[1], "a blue square");
  // Nothing but the final file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(CellFileTest, CorruptFileIsAnErrorNamingIt) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_cell_file_test_corrupt";
  fs::create_directories(dir);
  const std::string path = (dir / "bad.h5").string();
  std::ofstream(path) << "not hdf5";
  EXPECT_EQ(read_cell_hash(path), "");
  try {
    read_cell(path);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

}  // namespace
}  // namespace vdlab
