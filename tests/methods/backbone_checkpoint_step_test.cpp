// backbone.checkpoint_step: sampling with the weights a training run kept at an earlier step. Every step
// of one recipe shares the run's cache entry (one training), the weights at step s are those of a run
// that stopped at s, and a step the run keeps no weights at is one error line before anything trains.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backbone_test_support.h"
#include "core/error.h"
#include "core/hash.h"
#include "methods/backbone/register_backbones.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet_backbone.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("vdlab-ckstep-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
  return n;
}

Json recipe(int64_t steps, int64_t checkpoint_step) {
  Json c = testing::micro_backbone_config(steps);
  c["train"]["checkpoint_every"] = 2;
  if (checkpoint_step > 0) c["checkpoint_step"] = checkpoint_step;
  return c;
}

BackboneContext context(const std::string& name) {
  BackboneContext ctx;
  ctx.cache_dir = fresh_dir(name);
  auto data = std::make_shared<testing::MovingSquares>(4, 3, 8);
  ctx.train_data = data;
  ctx.train_data_config = data->describe();
  ctx.seed = 4;
  return ctx;
}

torch::Tensor output_of(Backbone& b) {
  torch::NoGradGuard guard;
  torch::manual_seed(1);
  const auto x = torch::randn({1, 3, 3, 8, 8});
  return b.forward(x, torch::full({1, 3}, 300.0f), Conditioning{torch::tensor({1}), {}});
}

TEST(BackboneCheckpointStep, EveryStepSharesOneRunAndReadsTheWeightsOfThatStep) {
  BackboneContext ctx = context("share");
  // Step 2 of the 6-step run: the run trains once, to its end, and keeps weights at steps 2 and 4.
  BackbonePtr at2 = make_backbone(recipe(6, 2), ctx);
  const std::string key = at2->describe().at("cache_key");
  const std::string dir = ctx.cache_dir + "/backbones/" + key;
  EXPECT_EQ(count_lines(dir + "/runs.log"), 1);
  EXPECT_TRUE(fs::exists(dir + "/final.pt"));
  EXPECT_EQ(at2->describe().at("weights_file"), "ema-step2.pt");
  EXPECT_EQ(at2->describe().at("weights_sha256"), sha256_file(ema_snapshot_path(dir, 2)));

  // Step 4 and the end read the same run: nothing trains again.
  BackbonePtr at4 = make_backbone(recipe(6, 4), ctx);
  BackbonePtr end = make_backbone(recipe(6, 0), ctx);
  for (const auto& b : {at4, end}) EXPECT_EQ(b->describe().at("cache_key"), key);
  EXPECT_EQ(count_lines(dir + "/runs.log"), 1);
  EXPECT_EQ(end->describe().at("weights_file"), "final.pt");
  EXPECT_EQ(end->describe().at("weights_sha256"), sha256_file(dir + "/final.pt"));
  EXPECT_FALSE(torch::equal(output_of(*at2), output_of(*end)));
  EXPECT_FALSE(torch::equal(output_of(*at2), output_of(*at4)));

  // The weights at step 2 are those of the run that stops at step 2 (its own cache entry, trained apart).
  BackbonePtr stopped = make_backbone(recipe(2, 0), ctx);
  EXPECT_NE(stopped->describe().at("cache_key"), key);
  EXPECT_TRUE(torch::equal(output_of(*stopped), output_of(*at2)));
}

TEST(BackboneCheckpointStep, TheFinalWeightsLeaveNoFieldAndOtherStepsAreRefused) {
  // The end of the run (0, or the last step) resolves to the config without the field: configs written
  // before the field existed keep their hashes, and "step 6 of 6" is the final weights' cell.
  const Json plain = resolve_unet_backbone_params(testing::micro_backbone_config(6));
  EXPECT_FALSE(plain.contains("checkpoint_step"));
  Json last = recipe(6, 6);
  Json none = recipe(6, 0);
  EXPECT_EQ(resolve_unet_backbone_params(last), resolve_unet_backbone_params(none));
  EXPECT_EQ(resolve_unet_backbone_params(recipe(6, 4)).at("checkpoint_step"), 4);

  auto message = [](const Json& config) {
    try {
      resolve_unet_backbone_params(config);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(recipe(6, 3)).find("backbone.checkpoint_step: 3 is not a step the run keeps weights at"),
            std::string::npos)
      << message(recipe(6, 3));
  EXPECT_NE(message(recipe(6, 8)).find("backbone.checkpoint_step: 8 is outside the run"), std::string::npos);
  Json staged = recipe(6, 2);
  staged["train"]["image_pretrain_steps"] = 2;
  EXPECT_NE(message(staged).find("image pre-training"), std::string::npos) << message(staged);
  staged["checkpoint_step"] = 4;  // a video-stage step of the 8-step staged run
  EXPECT_EQ(message(staged), "no error");
  Json never = recipe(6, 2);
  never["train"]["checkpoint_every"] = 0;
  EXPECT_NE(message(never).find("is not a step the run keeps weights at"), std::string::npos);
}

TEST(BackboneCheckpointStep, ARunTrainedWithoutSnapshotsNamesTheMissingFile) {
  BackboneContext ctx = context("missing");
  BackbonePtr end = make_backbone(recipe(4, 0), ctx);
  const std::string dir = ctx.cache_dir + "/backbones/" + end->describe().at("cache_key").get<std::string>();
  fs::remove(ema_snapshot_path(dir, 2));
  try {
    make_backbone(recipe(4, 2), ctx);
    FAIL() << "a missing snapshot was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("ema-step2.pt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_lines(dir + "/runs.log"), 1);  // nothing trained again
}

}  // namespace
}  // namespace vdlab
