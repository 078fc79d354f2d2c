// User denoisers as TorchScript: modules scripted by Debian's python3-torch (the committed generator
// scripts/fixtures/make_torchscript_denoiser.py), loaded through `backbone: {torchscript: PATH}`, and
// sampled through; a wrong signature gives an error that names the expected one.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fstream>

#include "core/error.h"
#include "core/hash.h"
#include "methods/backbone/register_backbones.h"
#include "methods/samplers/sampler.h"
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

TEST_F(BackboneTorchScript, PinnedFileLoadsAndAnotherIsRefusedBeforeItIsRead) {
  BackboneContext ctx;
  const std::string path = dir_ + "/exact_eps.pt";
  const std::string actual = sha256_file(path);
  auto bb = make_backbone(Json{{"torchscript", path}, {"sha256", actual}}, ctx);
  EXPECT_EQ(bb->describe().at("weights_sha256"), actual);

  const std::string expected = sha256_file(dir_ + "/class_shift.pt");
  try {
    make_backbone(Json{{"torchscript", path}, {"sha256", expected}}, ctx);
    FAIL() << "another file was loaded";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg, "backbone.sha256: " + path + ": SHA-256 mismatch: expected " + expected + ", actual " + actual +
                       " (the file is not the one pinned; nothing was loaded)");
  }
  // The pin is checked before anything is deserialised: a file that is no TorchScript at all is refused
  // for its hash, not reported as unloadable.
  const std::string junk = dir_ + "/junk.pt";
  std::ofstream(junk) << "import os; os.system('touch /tmp/x')\n";
  try {
    make_backbone(Json{{"torchscript", junk}, {"sha256", actual}}, ctx);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("SHA-256 mismatch"), std::string::npos) << e.what();
  }
}

TEST_F(BackboneTorchScript, APinIsAllSixtyFourHexDigits) {
  BackboneContext ctx;
  const std::string actual = sha256_file(dir_ + "/exact_eps.pt");
  // A prefix would let another file through: refused when the config is resolved, before any file is read.
  try {
    make_backbone(Json{{"torchscript", dir_ + "/exact_eps.pt"}, {"sha256", actual.substr(0, 16)}}, ctx);
    FAIL() << "a prefix was accepted";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("backbone.sha256"), std::string::npos) << msg;
    EXPECT_NE(msg.find("all 64 hex digits"), std::string::npos) << msg;
  }
}

TEST_F(BackboneTorchScript, NonFiniteOutputStopsSamplingNamingStepAndCount) {
  BackboneContext ctx;
  auto bb = make_backbone(Json{{"torchscript", dir_ + "/nan_late.pt"}}, ctx);
  register_builtin_samplers();
  const SamplerPtr ddim = sampler_registry().make("ddim", Json{{"steps", 10}}, "sampler");
  SampleContext sctx;
  sctx.schedule = NoiseSchedule::from_config(bb->schedule());
  // The module writes 5 NaN values once every timestep is below 500: the first such step is named.
  const std::vector<double> ts = ddim->timesteps(sctx.schedule);
  std::size_t first = 0;
  while (ts[first] >= 500) ++first;
  char t[32];
  std::snprintf(t, sizeof t, "%g", ts[first]);
  const Denoise denoise = [&](const at::Tensor& x, const at::Tensor& tt) { return bb->forward(x, tt, Conditioning{}); };
  SampleStats stats;
  torch::manual_seed(0);
  try {
    ddim->sample(denoise, torch::randn({2, 3, 4, 8, 8}), sctx, stats);
    FAIL() << "sampling went on past NaN";
  } catch (const NumericError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("sampling step " + std::to_string(first + 1) + " of 10 (t=" + t +
                            "): the model output has 5 non-finite values (NaN or Inf) of " + std::to_string(2 * 3 * 4 * 8 * 8),
                        0),
              0u)
        << msg;
  }
  EXPECT_EQ(stats.nfe, int64_t(first + 1));  // nothing ran after the failing call
}

}  // namespace
}  // namespace vdlab
