// The analytic denoisers: exactness (the Gaussian posterior mean against Monte Carlo regression and
// against the closed form), per-frame noise levels, and sampling through the "uniform" methods.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "methods/backbone/analytic.h"
#include "methods/method.h"
#include "methods/samplers/sampler.h"

namespace vdlab {
namespace {

std::shared_ptr<GaussianMixtureBackbone> make_gmm(const Json& p) {
  register_builtin_methods();
  BackboneBuilder b = backbone_registry().make("gaussian-mixture", p, "backbone");
  return std::dynamic_pointer_cast<GaussianMixtureBackbone>(b(BackboneContext{}));
}

TEST(AnalyticBackbone, GaussianPosteriorMeanMatchesTheClosedFormPerFrame) {
  register_builtin_methods();
  BackbonePtr bb = backbone_registry().make("gaussian", {{"frame_rho", 0.0}, {"std", 0.5}, {"mean", 0.2}, {"prediction", "x0"}},
                                            "backbone")(BackboneContext{});
  // With independent frames the posterior mean is per frame: mu + a s0^2 / (a^2 s0^2 + s^2) (x - a mu).
  const NoiseSchedule sched = NoiseSchedule::linear();
  const at::Tensor x = at::randn({2, 1, 3, 2, 2}, at::kDouble);
  const at::Tensor t = at::tensor(std::vector<double>{10, 500, 999, 0, 250, 700}, at::kDouble).reshape({2, 3});
  const at::Tensor x0 = bb->forward(x, t, Conditioning{});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t f = 0; f < 3; ++f) {
      const int64_t ti = static_cast<int64_t>(t[b][f].item<double>());
      const double a = sched.alpha(ti), s = sched.sigma(ti);
      const at::Tensor expect = 0.2 + a * 0.25 / (a * a * 0.25 + s * s) * (x[b].select(1, f) - a * 0.2);
      EXPECT_TRUE(at::allclose(x0[b].select(1, f), expect, 1e-10, 1e-12)) << b << " " << f;
    }
}

TEST(AnalyticBackbone, MixturePosteriorMeanIsTheRegressionOfData) {
  // E[x0 | x_t] minimises the squared error: regress Monte Carlo data on its noised version and compare.
  auto gmm = make_gmm({{"components", 3}, {"channels", 1}, {"frames", 3}, {"height", 1}, {"width", 1},
                       {"frame_rho", 0.8}, {"std", 0.2}, {"mean_std", 1.0}, {"prediction", "x0"}});
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const int64_t n = 20000;
  const at::Tensor x0 = gmm->sample_data(n, {1, 3, 1, 1}, gen);
  const int64_t ti = 400;
  const NoiseSchedule sched = NoiseSchedule::linear();
  const at::Tensor xt = sched.alpha(ti) * x0 + sched.sigma(ti) * at::randn(x0.sizes(), gen, at::kDouble);
  const at::Tensor t = at::full({n, 3}, static_cast<double>(ti), at::kDouble);
  const at::Tensor exact = gmm->posterior_mean(xt, t);
  const double mse_exact = (exact - x0).pow(2).mean().item<double>();
  // Any other denoiser does worse: a shrunk or a perturbed posterior mean.
  EXPECT_LT(mse_exact, (0.9 * exact - x0).pow(2).mean().item<double>());
  EXPECT_LT(mse_exact, (exact + 0.05 * at::tanh(xt) - x0).pow(2).mean().item<double>());
  // Residuals are uncorrelated with functions of x_t (orthogonality of the conditional mean).
  const at::Tensor resid = (x0 - exact).flatten();
  for (const at::Tensor& g : {xt.flatten(), at::tanh(3 * xt).flatten()}) {
    const double c = ((resid * g).mean() / (resid.std() * g.std())).item<double>();
    EXPECT_NEAR(c, 0.0, 0.03);
  }
}

TEST(AnalyticBackbone, PredictionsAreConsistent) {
  const Json base = {{"components", 2}, {"channels", 1}, {"frames", 2}, {"height", 2}, {"width", 2}};
  Json pe = base, pv = base, px = base;
  pe["prediction"] = "eps";
  pv["prediction"] = "v";
  px["prediction"] = "x0";
  auto e = make_gmm(pe), v = make_gmm(pv), x0m = make_gmm(px);
  const at::Tensor x = at::randn({1, 1, 2, 2, 2}, at::kDouble);
  const at::Tensor t = at::tensor(std::vector<double>{300, 600}, at::kDouble).reshape({1, 2});
  const at::Tensor x0 = x0m->forward(x, t, {}), eps = e->forward(x, t, {}), vv = v->forward(x, t, {});
  const NoiseSchedule s = NoiseSchedule::linear();
  for (int64_t f = 0; f < 2; ++f) {
    const int64_t ti = f == 0 ? 300 : 600;
    const double a = s.alpha(ti), sg = s.sigma(ti);
    EXPECT_TRUE(at::allclose(x.select(2, f), a * x0.select(2, f) + sg * eps.select(2, f), 1e-10, 1e-12));
    EXPECT_TRUE(at::allclose(vv.select(2, f), a * eps.select(2, f) - sg * x0.select(2, f), 1e-10, 1e-12));
  }
}

TEST(AnalyticBackboneIntegration, UniformMethodsGenerateFromTheMixture) {
  register_builtin_methods();
  BackbonePtr bb = backbone_registry().make("gaussian-mixture", {{"frames", 4}, {"height", 4}, {"width", 4}}, "backbone")(
      BackboneContext{});
  GenerateRequest req;
  req.count = 3;
  req.batch_size = 2;
  req.frames = 4;
  req.height = 4;
  req.width = 4;
  req.seed = 9;
  for (const char* name : {"uniform", "correlated-noise"}) {
    MethodPtr m = method_registry().make(name, {{"sampler", {{"name", "dpmsolver++"}, {"steps", 10}}}}, "method");
    const GenerateResult r = m->generate(*bb, req);
    EXPECT_EQ(r.videos.sizes(), (std::vector<int64_t>{3, 3, 4, 4, 4})) << name;
    EXPECT_EQ(r.nfe, 10) << name;  // per video: 10 steps (in each of two batches)
    EXPECT_EQ(r.stats.at("denoise_calls"), 20) << name;
    EXPECT_TRUE(at::isfinite(r.videos).all().item<bool>());
    EXPECT_LT(r.videos.abs().max().item<double>(), 5.0);
    const GenerateResult again = m->generate(*bb, req);
    EXPECT_TRUE(at::equal(r.videos, again.videos)) << name;
  }
  MethodPtr m = method_registry().make("correlated-noise", {{"noise", {{"rho", 0.85}}}}, "method");
  EXPECT_NO_THROW(m->generate(*bb, req));
}

}  // namespace
}  // namespace vdlab
