// Training keeps the thread count its caller set (the CLI's --threads), so a cluster task never runs on
// more cores than it was given.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "backbone_test_support.h"
#include "methods/backbone/training.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {
namespace {

TEST(BackboneThreads, TrainingKeepsTheCallersThreadCount) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: every count is the whole machine";
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("vdlab-backbone-threads-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  testing::MovingSquares data(4, 4, 8);
  auto unet = testing::micro_unet();
  VideoUNet model(unet), ema(unet);
  TrainConfig cfg;
  cfg.steps = 2;
  cfg.batch_size = 2;
  cfg.checkpoint_every = 0;
  TrainOptions options;
  options.dir = dir;  // threads left at 0: the caller's count
  std::vector<int> seen;
  options.after_step = [&](int64_t, double) { seen.push_back(at::get_num_threads()); };
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  train_unet(model, ema, data, Prediction::eps, NoiseSchedule::linear().alphas_cumprod, cfg, options);
  const int after = at::get_num_threads();
  at::set_num_threads(before);
  EXPECT_EQ(seen, std::vector<int>(2, 1));
  EXPECT_EQ(after, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vdlab
