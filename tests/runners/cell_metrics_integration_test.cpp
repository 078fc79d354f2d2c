// What the cell runner hands the metrics: never a video made from non-finite values (the cell stops with
// one error naming the count, and no cell file), and a split read clip by clip.
#include <gtest/gtest.h>

#include <torch/types.h>

#include <filesystem>

#include "methods/method.h"
#include "results/cell_file.h"
#include "runners/cell_runner.h"
#include "runners/experiment.h"
#include "runners/yaml_json.h"
#include "support/truncated_video.h"

namespace vdlab {
namespace {

// Smooth, varied videos (stable by every pixel test): "test-varied-pixels"; "test-nan-pixel" gives the
// same with a single NaN value in video 1 (a failure past the sampler, which checks every model output).
void register_test_pixel_methods() {
  register_builtin_methods();
  if (method_registry().contains("test-nan-pixel")) return;
  for (const bool poisoned : {false, true})
    method_registry().add({poisoned ? "test-nan-pixel" : "test-varied-pixels",
                           poisoned ? "varied videos, one NaN value in video 1 (runner tests)" : "varied videos (runner tests)",
                           {},
                           [poisoned](const Params&) -> MethodPtr {
                             struct Pixels : Method {
                               bool with_nan = false;
                               GenerateResult generate(Backbone&, const GenerateRequest& r) override {
                                 GenerateResult out;
                                 const auto ramp = at::linspace(-0.8, 0.8, r.width).view({1, 1, 1, 1, r.width});
                                 const auto rows = at::linspace(-0.1, 0.1, r.height).view({1, 1, 1, r.height, 1});
                                 out.videos = (ramp + rows).expand({r.count, 3, r.frames, r.height, r.width}).clone();
                                 if (with_nan && r.count > 1) out.videos[1][0][0][0][0] = std::nan("");
                                 out.nfe = 1;
                                 return out;
                               }
                             };
                             auto m = std::make_shared<Pixels>();
                             m->with_nan = poisoned;
                             return m;
                           }});
}

TEST(CellMetricsIntegration, NonFiniteOutputFailsTheCellWithNoCellFile) {
  register_test_pixel_methods();
  const Experiment e = parse_experiment(parse_yaml("backbone: {name: diffusers-test}\n"
                                                   "dataset: {name: moving-shapes, split: test, clips: 3, frames: 4, size: 16}\n"
                                                   "variants: [{method: test-nan-pixel}]\n"
                                                   "seeds: [0]\n"
                                                   "metrics: [stability]\n",
                                                   "nan.yaml"),
                                        "nan.yaml");
  const auto cells = plan_cells(e);
  ASSERT_EQ(cells.size(), 1u);
  RunOptions o;
  o.out_dir = (std::filesystem::temp_directory_path() / "vdlab-nan-cell").string();
  std::filesystem::remove_all(o.out_dir);
  o.cache_dir = o.out_dir + "/cache";
  CellRunner runner(e, o);
  const CellOutcome outcome = runner.run(cells[0]);
  ASSERT_EQ(outcome.status, CellStatus::failed);
  EXPECT_EQ(outcome.error, "generated videos: 1 non-finite values (NaN or Inf) of " + std::to_string(3 * 3 * 4 * 16 * 16) +
                               " after sampling; no video or metric is kept");
  EXPECT_FALSE(std::filesystem::exists(cell_path(o, cells[0])));
  EXPECT_TRUE(std::filesystem::exists(cell_error_path(o, cells[0])));
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/features/" + cells[0].id));  // nothing was scored
}

TEST(CellMetricsIntegration, SkipLeavesATruncatedVideoOutOfTheCellAndRecordsIt) {
  register_test_pixel_methods();
  const auto root = std::filesystem::temp_directory_path() / "vdlab-skip-cell-videos";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "Walking");
  test::write_test_avi((root / "Walking" / "a.avi").string(), 20, 1);
  test::write_truncated_avi((root / "Walking" / "b.avi").string(), 30);
  test::write_test_avi((root / "Walking" / "c.avi").string(), 20, 2);
  const std::string dataset = "{name: video-folder, root: " + root.string() + ", split: all, frames: 16, size: 16";
  RunOptions o;
  o.out_dir = (std::filesystem::temp_directory_path() / "vdlab-skip-cell").string();
  std::filesystem::remove_all(o.out_dir);
  o.cache_dir = o.out_dir + "/cache";
  for (const std::string on_error : {"fail", "skip"}) {
    const Experiment e = parse_experiment(parse_yaml("backbone: {name: diffusers-test}\n"
                                                     "dataset: " + dataset + ", on_error: " + on_error + "}\n"
                                                     "variants: [{method: test-varied-pixels}]\nseeds: [0]\nmetrics: [mm]\n",
                                                     "skip.yaml"),
                                          "skip.yaml");
    CellRunner runner(e, o);
    const auto cells = plan_cells(e);
    const CellOutcome outcome = runner.run(cells[0]);
    if (on_error == "fail") {
      EXPECT_EQ(outcome.status, CellStatus::failed);
      EXPECT_NE(outcome.error.find("b.avi"), std::string::npos) << outcome.error;
      continue;
    }
    ASSERT_EQ(outcome.status, CellStatus::done) << outcome.error;
    const CellRecord r = read_cell(cell_path(o, cells[0]));
    EXPECT_EQ(r.stats.at("dataset_skipped_count"), 1);
    EXPECT_EQ(r.provenance.at("dataset_skipped")[0].at("id"), "Walking/b.avi");
    EXPECT_EQ(r.metrics[0].per_sample.size(), 2u);  // two clips left, two generated videos
  }
}

}  // namespace
}  // namespace vdlab
