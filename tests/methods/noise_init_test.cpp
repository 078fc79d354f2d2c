// Noise inits: unit variance, the documented correlation across frames, determinism from the generator.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "methods/noise/noise_init.h"

namespace vdlab {
namespace {

NoiseInitPtr make(const std::string& name, const Json& p = Json::object()) {
  register_builtin_noise();
  return noise_registry().make(name, p, "noise");
}

at::Tensor draw(const NoiseInitPtr& n, uint64_t seed, std::vector<int64_t> shape = {64, 4, 6, 16, 16}) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return n->draw(shape, gen, at::TensorOptions().dtype(at::kDouble));
}

// Correlation of frames f and g over every other axis.
double frame_corr(const at::Tensor& e, int64_t f, int64_t g) {
  const at::Tensor a = e.select(2, f).flatten(), b = e.select(2, g).flatten();
  return ((a * b).mean() / (a.std() * b.std())).item<double>();
}

TEST(NoiseInit, Ar1HasUnitVarianceAndCorrelationRhoToTheLag) {
  const at::Tensor e = draw(make("ar1", {{"rho", 0.6}}), 1);
  for (int64_t f = 0; f < 6; ++f) EXPECT_NEAR(e.select(2, f).var().item<double>(), 1.0, 0.03);
  EXPECT_NEAR(frame_corr(e, 0, 1), 0.6, 0.02);
  EXPECT_NEAR(frame_corr(e, 2, 4), 0.36, 0.02);
  EXPECT_NEAR(frame_corr(e, 1, 5), std::pow(0.6, 4), 0.02);
}

TEST(NoiseInit, MixedSharesRhoOfTheVarianceAcrossAllFrames) {
  const at::Tensor e = draw(make("mixed", {{"rho", 0.4}}), 2);
  EXPECT_NEAR(e.var().item<double>(), 1.0, 0.03);
  EXPECT_NEAR(frame_corr(e, 0, 1), 0.4, 0.02);
  EXPECT_NEAR(frame_corr(e, 0, 5), 0.4, 0.02);
}

TEST(NoiseInit, IidIsUncorrelatedAndEveryInitIsDeterministic) {
  const at::Tensor e = draw(make("iid"), 3);
  EXPECT_NEAR(frame_corr(e, 0, 1), 0.0, 0.02);
  for (const char* name : {"iid", "ar1", "mixed"}) {
    EXPECT_TRUE(at::equal(draw(make(name), 7, {2, 3, 4, 5, 5}), draw(make(name), 7, {2, 3, 4, 5, 5}))) << name;
    EXPECT_FALSE(at::equal(draw(make(name), 7, {2, 3, 4, 5, 5}), draw(make(name), 8, {2, 3, 4, 5, 5}))) << name;
  }
  EXPECT_THROW(make("ar1", {{"rho", 1.5}}), ConfigError);
  EXPECT_THROW(make("ar1", {{"rho", 0.5}, {"rh", 1}}), ConfigError);
}

}  // namespace
}  // namespace vdlab
