// Convergence order on the exact Gaussian-mixture denoiser (issue 3, done-when 3): the endpoint error
// against a 4096-step reference falls as N^-p; p is the slope of log error against log steps.
// Steps are placed uniformly in log-SNR lambda (fractional timesteps through SampleContext::
// frame_timesteps) from t = T - 1 to the smallest training sigma: every sampler then integrates the
// same probability-flow ODE on the same mesh, and the step size h shrinks as 1/N everywhere. (Spacing
// uniform in t leaves a last step from t ~ T/N to sigma_min whose h shrinks only like log N, which
// caps every sampler at order 1 and says nothing about the solvers.)
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "methods/backbone/analytic.h"
#include "methods/method.h"
#include "methods/samplers/sampler.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

const Json kSchedule = {{"betas", "linear"}, {"beta_start", 0.0001}, {"beta_end", 0.02}, {"num_train_timesteps", 1000}};

// The fractional timestep whose interpolated sigma is `sigma` (the table ascends in t).
double timestep_of_sigma(const std::vector<double>& table, double sigma) {
  double lo = 0, hi = static_cast<double>(table.size() - 1);
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (interpolate(table, mid) < sigma ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// N timesteps uniform in lambda from t = T - 1; the N + 1-th point is sigma_min (the final sigma).
std::vector<double> log_snr_timesteps(const std::vector<double>& table, int64_t n) {
  auto lam = [](double s) { return -std::log(s); };  // log(alpha / sigma) of a VE sigma
  const double l0 = lam(table.back()), l1 = lam(table.front());
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) {
    const double l = l0 + (l1 - l0) * static_cast<double>(i) / static_cast<double>(n);
    out.push_back(i == 0 ? static_cast<double>(table.size() - 1) : timestep_of_sigma(table, std::exp(-l)));
  }
  return out;
}

struct Study {
  std::string label, sampler;
  Json params;
  double lo, hi;  // the accepted range of the measured order
};

TEST(SamplerConvergence, EndpointErrorFallsAtTheExpectedOrder) {
  register_builtin_methods();
  BackbonePtr bb = backbone_registry().make("gaussian-mixture",
                                            {{"components", 4}, {"channels", 1}, {"frames", 4}, {"height", 4}, {"width", 4},
                                             {"frame_rho", 0.9}, {"std", 0.3}, {"mean_std", 0.6}, {"schedule", kSchedule}},
                                            "backbone")(BackboneContext{});
  SampleContext ctx;
  ctx.schedule = NoiseSchedule::from_config(kSchedule);
  ctx.prediction = bb->prediction();
  const Denoise fn = [&](const at::Tensor& x, const at::Tensor& t) { return bb->forward(x, t, Conditioning{}); };
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2024);
  const at::Tensor noise = at::randn({4, 1, 4, 4, 4}, gen, at::kDouble);
  const std::vector<double> table = sigma_table(ctx.schedule);
  auto run = [&](const std::string& name, Json p, int64_t steps) {
    p["steps"] = steps;
    p["final_sigma"] = "sigma_min";
    SampleContext c = ctx;
    c.frame_timesteps = at::tensor(log_snr_timesteps(table, steps), at::kDouble)
                            .reshape({steps, 1, 1})
                            .expand({steps, noise.size(0), noise.size(2)})
                            .contiguous();
    SampleStats stats;
    return testing::make_sampler(name, p)->sample(fn, noise, c, stats);
  };
  const at::Tensor reference =
      run("unipc", {{"order", 3}, {"variant", "bh2"}, {"corrector", true}, {"lower_order_final", false}}, 4096);

  const std::vector<Study> studies = {
      {"DDIM", "ddim", {{"eta", 0.0}, {"prev_timestep", "next"}}, 0.8, 1.3},
      {"DPM-Solver++ 2M", "dpmsolver++", {{"order", 2}, {"solver_type", "midpoint"}, {"lower_order_final", false}}, 1.7, 2.4},
      {"UniPC-2 bh2, no corrector", "unipc", {{"order", 2}, {"variant", "bh2"}, {"corrector", false}, {"lower_order_final", false}}, 1.7, 2.4},
      {"UniPC-2 bh2, corrector", "unipc", {{"order", 2}, {"variant", "bh2"}, {"corrector", true}, {"lower_order_final", false}}, 2.5, 3.6},
      {"UniPC-3 bh2, corrector", "unipc", {{"order", 3}, {"variant", "bh2"}, {"corrector", true}, {"lower_order_final", false}}, 3.0, 4.8},
  };
  const std::vector<int64_t> steps = {10, 20, 40, 80};
  for (const Study& s : studies) {
    std::vector<double> lx, ly;
    std::string line;
    for (int64_t n : steps) {
      const double err = (run(s.sampler, s.params, n) - reference).pow(2).mean().sqrt().item<double>();
      lx.push_back(std::log(static_cast<double>(n)));
      ly.push_back(std::log(err));
      char buf[64];
      std::snprintf(buf, sizeof buf, " N=%lld %.3e", static_cast<long long>(n), err);
      line += buf;
    }
    // Least-squares slope of log error against log steps.
    const double mx = (lx[0] + lx[1] + lx[2] + lx[3]) / 4, my = (ly[0] + ly[1] + ly[2] + ly[3]) / 4;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < lx.size(); ++i) {
      sxy += (lx[i] - mx) * (ly[i] - my);
      sxx += (lx[i] - mx) * (lx[i] - mx);
    }
    const double order = -sxy / sxx;
    std::printf("[convergence] %-28s order %.2f  (rms error%s)\n", s.label.c_str(), order, line.c_str());
    EXPECT_GE(order, s.lo) << s.label;
    EXPECT_LE(order, s.hi) << s.label;
  }
}

}  // namespace
}  // namespace vdlab
