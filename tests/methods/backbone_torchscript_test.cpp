// User denoisers as TorchScript: modules scripted by Debian's python3-torch (the committed generator
// scripts/fixtures/make_torchscript_denoiser.py), loaded through `backbone: {torchscript: PATH}`, and
// sampled through; a wrong signature gives an error that names the expected one.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "methods/backbone/register_backbones.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

class BackboneTorchScript : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("vdlab-torchscript-" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    const std::string cmd = "/usr/bin/python3 " VDLAB_SOURCE_DIR "/scripts/fixtures/make_torchscript_denoiser.py " + dir_ +
                            " > " + dir_ + "/make.log 2>&1";
    status_ = std::system(cmd.c_str());
  }
  void SetUp() override { ASSERT_EQ(status_, 0) << "fixture generator failed, see " << dir_ << "/make.log"; }
  static std::string dir_;
  static int status_;
};
std::string BackboneTorchScript::dir_;
int BackboneTorchScript::status_ = -1;

TEST_F(BackboneTorchScript, SamplesThroughAnExactDenoiser) {
  BackboneContext ctx;
  auto bb = make_backbone(Json{{"torchscript", dir_ + "/exact_eps.pt"}}, ctx);
  EXPECT_EQ(bb->prediction(), Prediction::eps);
  EXPECT_FALSE(bb->conditional());
  EXPECT_EQ(bb->channels(), 3);
  EXPECT_EQ(bb->describe().at("name"), "torchscript");
  EXPECT_EQ(bb->describe().at("weights_sha256").get<std::string>().size(), 64u);

  // Deterministic DDIM (eta = 0) over 10 steps: the module predicts the exact noise of all-zero data,
  // so every x0 estimate is 0 and the sample ends at 0 from any start.
  const auto sched = NoiseSchedule::from_config(bb->schedule());
  torch::manual_seed(0);
  auto x = torch::randn({2, 3, 4, 8, 8});
  const double start_abs = x.abs().mean().item<double>();
  for (int i = 0; i < 10; ++i) {
    const int64_t t = 999 - 100 * i, prev = t - 100;
    const double ac = sched.alphas_cumprod[size_t(t)];
    const double ac_prev = prev >= 0 ? sched.alphas_cumprod[size_t(prev)] : 1.0;
    auto eps = bb->forward(x, torch::full({2, 4}, double(t)), Conditioning{});
    ASSERT_EQ(eps.sizes(), x.sizes());
    auto x0 = (x - std::sqrt(1 - ac) * eps) / std::sqrt(ac);
    x = std::sqrt(ac_prev) * x0 + std::sqrt(1 - ac_prev) * eps;
  }
  EXPECT_GT(start_abs, 0.5);
  EXPECT_LT(x.abs().max().item<double>(), 1e-3);

  // Per-frame timesteps reach the module: frame 0 at t = 0 has sigma_0 = 0.01 (eps = x / 0.01).
  auto probe = torch::ones({1, 3, 2, 8, 8});
  auto tv = torch::tensor({{0.0f, 999.0f}});
  auto out = bb->forward(probe, tv, Conditioning{});
  EXPECT_NEAR(out[0][0][0][0][0].item<double>(), 1.0 / std::sqrt(1 - sched.alphas_cumprod[0]), 1e-2);
  EXPECT_NEAR(out[0][0][1][0][0].item<double>(), 1.0 / std::sqrt(1 - sched.alphas_cumprod[999]), 1e-4);
}

TEST_F(BackboneTorchScript, ConditioningAndModuleAttributes) {
  BackboneContext ctx;
  auto bb = make_backbone(Json{{"name", "torchscript"}, {"path", dir_ + "/class_shift.pt"}}, ctx);
  EXPECT_EQ(bb->prediction(), Prediction::x0);
  EXPECT_TRUE(bb->conditional());
  auto x = torch::zeros({3, 3, 2, 4, 4});
  auto y = bb->forward(x, torch::zeros({3, 2}), Conditioning{torch::tensor({2, -1, 0}), {}});
  EXPECT_EQ(y[0].mean().item<double>(), 3.0);
  EXPECT_EQ(y[1].mean().item<double>(), 0.0);
  EXPECT_EQ(y[2].mean().item<double>(), 1.0);
  // No labels: unconditional (-1 for every video).
  EXPECT_EQ(bb->forward(x, torch::zeros({3, 2}), Conditioning{}).abs().max().item<double>(), 0.0);
  // The config's prediction overrides the module's attribute.
  auto as_eps = make_backbone(Json{{"torchscript", dir_ + "/class_shift.pt"}, {"prediction", "eps"}}, ctx);
  EXPECT_EQ(as_eps->prediction(), Prediction::eps);
}

TEST_F(BackboneTorchScript, WrongSignatureIsAClearError) {
  BackboneContext ctx;
  try {
    make_backbone(Json{{"torchscript", dir_ + "/wrong_signature.pt"}, {"prediction", "eps"}}, ctx);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("wrong forward signature"), std::string::npos) << msg;
    EXPECT_NE(msg.find("forward(self, x: Tensor"), std::string::npos) << msg;  // the expected one
    EXPECT_NE(msg.find("wrong_signature.pt"), std::string::npos) << msg;
  }
  // Missing files and non-TorchScript files name the path.
  EXPECT_THROW(make_backbone(Json{{"torchscript", dir_ + "/missing.pt"}}, ctx), IoError);
  EXPECT_THROW(make_backbone(Json{{"torchscript", dir_ + "/make.log"}}, ctx), IoError);
}

}  // namespace
}  // namespace vdlab
