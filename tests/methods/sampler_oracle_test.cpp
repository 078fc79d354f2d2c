// The samplers against the float64 transcription of their formulas (scripts/reference/
// samplers_reference.py): every case of the committed grid, elementwise, and the public reference values
// of METHODS.md 1.5.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "methods/samplers/sampler.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

using testing::make_sampler;
using testing::sampler_fixture;

at::Tensor run_double(const std::string& name, const Json& params, const Denoise& fn, const at::Tensor& x,
                      Prediction prediction, SampleStats* stats_out = nullptr) {
  SampleContext ctx;
  ctx.prediction = prediction;
  ctx.step_noise = testing::oracle_step_noise();
  SampleStats stats;
  at::Tensor y = make_sampler(name, params)->sample(fn, x, ctx, stats);
  if (stats_out) *stats_out = stats;
  return y;
}

TEST(SamplerOracle, EveryCaseAgreesWithTheFloat64Transcription) {
  const Json& doc = sampler_fixture();
  std::vector<int64_t> shape = doc.at("oracle_shape").get<std::vector<int64_t>>();
  std::vector<double> input = doc.at("oracle_input").get<std::vector<double>>();
  const at::Tensor x = at::tensor(input, at::kDouble).reshape(shape);
  double worst = 0;
  std::string worst_case;
  int64_t compared = 0, refused = 0;
  for (const Json& c : doc.at("cases")) {
    const std::string name = c.at("sampler").get<std::string>();
    const Prediction pred = parse_prediction(c.at("prediction").get<std::string>(), "prediction");
    const std::string label = name + " " + c.at("params").dump() + " prediction " + c.at("prediction").get<std::string>();
    if (c.contains("refused")) {
      EXPECT_THROW(make_sampler(name, c.at("params")), ConfigError) << label;
      ++refused;
      continue;
    }
    SampleStats stats;
    const at::Tensor y = run_double(name, c.at("params"), testing::oracle_denoise(), x, pred, &stats);
    const at::Tensor ref = at::tensor(c.at("result").get<std::vector<double>>(), at::kDouble).reshape(shape);
    ASSERT_TRUE(at::isfinite(y).all().item<bool>()) << label;
    const double rel = ((y - ref).abs() / ref.abs().clamp_min(1e-300)).max().item<double>();
    if (rel > worst) {
      worst = rel;
      worst_case = label;
    }
    EXPECT_LE(rel, 1e-6) << label;
    EXPECT_EQ(stats.nfe, c.at("params").at("steps").get<int64_t>()) << label;
    ++compared;
  }
  std::printf("[oracle] %lld cases compared, %lld refused as the reference does; worst relative error %.3g (%s)\n",
              static_cast<long long>(compared), static_cast<long long>(refused), worst, worst_case.c_str());
  EXPECT_GT(compared, 400);
}

// diffusers' deterministic test sample (dummy_sample_deter), [4, 3, 8, 8] with one frame here.
at::Tensor diffusers_sample() { return testing::diffusers_sample_deter({4, 3, 8, 8}); }

Json ten_steps(Json p) {
  p["steps"] = 10;
  return p;
}

TEST(SamplerOracle, PublicReferenceValuesOfMethods15) {
  const Json& pub = sampler_fixture().at("public_values");
  const at::Tensor x = diffusers_sample();
  const Denoise fn = testing::diffusers_test_denoise();
  auto mean_abs = [](const at::Tensor& y) { return y.abs().mean().item<double>(); };

  const at::Tensor u = run_double("unipc", ten_steps({{"order", 2}, {"variant", "bh2"}, {"final_sigma", "sigma_min"}}), fn, x, Prediction::eps);
  const at::Tensor d = run_double("dpmsolver++", ten_steps({{"order", 2}, {"solver_type", "midpoint"}, {"lower_order_final", false}, {"final_sigma", "sigma_min"}}), fn, x, Prediction::eps);
  const at::Tensor g = run_double("ddim", ten_steps({{"clip_sample", true}, {"eta", 0.0}}), fn, x, Prediction::eps);
  std::printf("[public] unipc bh2 order 2 mean|x| %.6f; dpmsolver++ 2M mean|x| %.6f; ddim sum|x| %.6f mean|x| %.6f\n",
              mean_abs(u), mean_abs(d), g.abs().sum().item<double>(), mean_abs(g));
  // The digits diffusers' own tests give (METHODS.md 1.5), to the last digit printed there.
  EXPECT_NEAR(mean_abs(u), 0.2464, 0.5e-4);
  EXPECT_NEAR(mean_abs(d), 0.3301, 0.5e-4);
  EXPECT_NEAR(g.abs().sum().item<double>(), 172.0067, 0.5e-4);
  EXPECT_NEAR(mean_abs(g), 0.223967, 0.5e-6);
  // And the float64 transcription's values to 1e-9.
  EXPECT_NEAR(mean_abs(u), pub.at("unipc_bh2_order2_mean_abs").get<double>(), 1e-9);
  EXPECT_NEAR(mean_abs(d), pub.at("dpmsolver++_2m_midpoint_mean_abs").get<double>(), 1e-9);
  EXPECT_NEAR(g.abs().sum().item<double>(), pub.at("ddim_clip_sum_abs").get<double>(), 1e-9);
}

TEST(SamplerOracle, Float32RunsCloseToFloat64) {
  // Production runs in float32; the same UniPC run in both precisions stays close.
  const at::Tensor x = diffusers_sample();
  const Denoise fn = testing::diffusers_test_denoise();
  const Json p = ten_steps({{"order", 3}, {"variant", "bh2"}, {"final_sigma", "sigma_min"}});
  const at::Tensor y64 = run_double("unipc", p, fn, x, Prediction::eps);
  const at::Tensor y32 = run_double("unipc", p, fn, x.to(at::kFloat), Prediction::eps);
  EXPECT_EQ(y32.scalar_type(), at::kFloat);
  EXPECT_LT((y32.to(at::kDouble) - y64).abs().max().item<double>(), 1e-4);
}

TEST(SamplerOracle, NoiseScheduleTablesMatchTheReference) {
  for (const auto& [kind, s] : sampler_fixture().at("schedules").items()) {
    const NoiseSchedule sched = NoiseSchedule::from_config(
        {{"betas", kind}, {"beta_start", s.at("beta_start")}, {"beta_end", s.at("beta_end")}});
    const std::vector<double> ac = s.at("alphas_cumprod").get<std::vector<double>>();
    ASSERT_EQ(sched.alphas_cumprod.size(), ac.size()) << kind;
    // The fixture was written by python3-torch on another machine: torch.linspace's vectorised kernel
    // rounds by the CPU's vector width, so an entry may sit one float32 step away; more is a real error.
    int64_t bitwise = 0, beyond_one_ulp = 0;
    for (size_t i = 0; i < ac.size(); ++i) {
      const float ref = static_cast<float>(ac[i]);
      const double ulp = static_cast<double>(std::nextafter(ref, 2.0f) - ref);
      bitwise += sched.alphas_cumprod[i] != ac[i];
      beyond_one_ulp += std::abs(sched.alphas_cumprod[i] - ac[i]) > ulp;
    }
    EXPECT_EQ(beyond_one_ulp, 0) << kind << ": alphas_cumprod differs from the float32 reference table";
    if (bitwise > 0) std::printf("[schedule] %s: %lld entries one float32 step from the fixture\n", kind.c_str(),
                                 static_cast<long long>(bitwise));
  }
}

TEST(SamplerOracle, SpacingMatchesMethods11) {
  const std::vector<double> ts = multistep_timesteps(1000, 10, "linspace", 0);
  const std::vector<double> expect = {999, 899, 799, 699, 599, 500, 400, 300, 200, 100};
  EXPECT_EQ(ts, expect);
  EXPECT_EQ(multistep_timesteps(1000, 10, "leading", 1).front(), 90 * 10 + 1);
  EXPECT_EQ(multistep_timesteps(1000, 10, "trailing", 0).front(), 999);
  EXPECT_EQ(multistep_timesteps(1000, 10, "trailing", 0).back(), 99);
  EXPECT_EQ(ddim_timesteps(1000, 10, "leading", 0).front(), 900);
  EXPECT_THROW(multistep_timesteps(1000, 10, "uniform", 0), ConfigError);
}

}  // namespace
}  // namespace vdlab
