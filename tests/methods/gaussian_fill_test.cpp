// The stochastic samplers' Gaussian draws (gaussian_fill.h) are a standard normal distribution,
// reproducible from the seed, and the same stream when drawn in pieces; the one-pass per-frame
// combination (FramePlan::combine) and DDPM's one-pass update (ancestral_update.h) equal the sequence
// of tensor operations they replace bitwise; DDPM's LibTorch stream stays selectable.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "methods/samplers/ancestral_update.h"
#include "methods/samplers/gaussian_fill.h"
#include "methods/samplers/sampler.h"
#include "methods/samplers/step_noise.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

std::vector<float> draws(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  fill_standard_normal(v.data(), n, seed);
  return v;
}

TEST(GaussianFill, MomentsOfManyDrawsAreThoseOfAStandardNormal) {
  const int64_t n = int64_t{1} << 21;
  for (uint64_t seed : {uint64_t{0}, uint64_t{12345}, ~uint64_t{0}}) {
    const std::vector<float> v = draws(n, seed);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0, beyond3 = 0, lag1 = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const double z = v[i];
      ASSERT_TRUE(std::isfinite(z));
      m1 += z;
      m2 += z * z;
      m3 += z * z * z;
      m4 += z * z * z * z;
      beyond3 += std::abs(z) > 3.0 ? 1.0 : 0.0;
      if (i > 0) lag1 += z * v[i - 1];
    }
    const double dn = static_cast<double>(n);
    // Five standard errors of each sample moment of N(0, 1).
    EXPECT_NEAR(m1 / dn, 0.0, 5 * std::sqrt(1 / dn)) << seed;
    EXPECT_NEAR(m2 / dn, 1.0, 5 * std::sqrt(2 / dn)) << seed;
    EXPECT_NEAR(m3 / dn, 0.0, 5 * std::sqrt(15 / dn)) << seed;
    EXPECT_NEAR(m4 / dn, 3.0, 5 * std::sqrt(96 / dn)) << seed;
    EXPECT_NEAR(lag1 / dn, 0.0, 5 * std::sqrt(1 / dn)) << seed;
    const double p3 = std::erfc(3.0 / std::sqrt(2.0));  // P(|Z| > 3)
    EXPECT_NEAR(beyond3 / dn, p3, 5 * std::sqrt(p3 / dn)) << seed;
  }
}

TEST(GaussianFill, KolmogorovSmirnovAgainstTheNormalCdf) {
  const int64_t n = int64_t{1} << 20;
  std::vector<float> v = draws(n, 2024);
  std::sort(v.begin(), v.end());
  double d = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double cdf = 0.5 * std::erfc(-static_cast<double>(v[i]) / std::sqrt(2.0));
    d = std::max({d, cdf - static_cast<double>(i) / static_cast<double>(n),
                  static_cast<double>(i + 1) / static_cast<double>(n) - cdf});
  }
  // The KS critical value at level 0.001 is 1.95 / sqrt(n); a 24-bit transform's discreteness is far below it.
  EXPECT_LT(d, 1.95 / std::sqrt(static_cast<double>(n)));
}

TEST(GaussianFill, ReproducibleFromTheSeedAndPrefixStable) {
  const std::vector<float> a = draws(5003, 7), b = draws(5003, 7), c = draws(5003, 8), head = draws(1001, 7);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), a.begin()));
}

TEST(GaussianFill, AStreamDrawnInPiecesIsTheSingleFill) {
  const int64_t n = 5003;
  const std::vector<float> whole = draws(n, 11);
  for (int64_t piece : {1, 7, 31, 32, 33, 100, 1024, 5003}) {
    GaussianStream stream(11);
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t pos = 0; pos < n; pos += piece) stream.fill(v.data() + pos, std::min(piece, n - pos));
    EXPECT_EQ(v, whole) << "pieces of " << piece;
  }
  // Uneven pieces too, each starting anywhere within a chunk of the lanes.
  GaussianStream stream(11);
  std::vector<float> v(static_cast<size_t>(n));
  int64_t pos = 0;
  for (int64_t piece = 1; pos < n; piece = piece * 3 % 97 + 1) {
    const int64_t m = std::min(piece, n - pos);
    stream.fill(v.data() + pos, m);
    pos += m;
  }
  EXPECT_EQ(v, whole);
}

TEST(GaussianFill, DdpmDrawsFromTheCellsGeneratorOrLibTorchsStream) {
  const at::Tensor x = at::randn({1, 2, 3, 4, 4}, at::kFloat);
  auto run = [&](const Json& params, bool inject_randn) {
    SampleContext ctx;
    ctx.generator = at::make_generator<at::CPUGeneratorImpl>(3);
    if (inject_randn) {
      auto gen = std::make_shared<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(3));
      ctx.step_noise = [gen](int64_t, const at::Tensor& like) { return at::randn(like.sizes(), *gen, like.options()); };
    }
    SampleStats stats;
    return testing::make_sampler("ddpm", params)->sample(testing::oracle_denoise(), x, ctx, stats);
  };
  const Json torch_draws = {{"steps", 10}, {"noise_draws", "torch"}};
  // noise_draws torch is LibTorch's randn on the generator, step after step.
  EXPECT_TRUE(at::equal(run(torch_draws, false), run(torch_draws, true)));
  // The fast stream is another one, and reproducible from the seed.
  const Json fast = {{"steps", 10}};
  EXPECT_TRUE(at::equal(run(fast, false), run(fast, false)));
  EXPECT_FALSE(at::equal(run(fast, false), run(torch_draws, false)));
  EXPECT_THROW(testing::make_sampler("ddpm", {{"noise_draws", "numpy"}}), ConfigError);
}

// n random terms shaped like `like` and n + extra per-frame coefficient vectors of every sign, with the
// pointer lists FramePlan::combine takes (the first n coefficients).
struct CombineInputs {
  std::vector<at::Tensor> t;
  std::vector<std::vector<double>> c;
  std::vector<const at::Tensor*> tp;
  std::vector<const std::vector<double>*> cp;
};

CombineInputs combine_inputs(const FramePlan& plan, const at::Tensor& like, size_t n, size_t extra = 0) {
  CombineInputs in;
  for (size_t j = 0; j < n + extra; ++j) {
    if (j < n) in.t.push_back(at::randn(like.sizes(), like.scalar_type()));
    std::vector<double> cj;
    for (int64_t k = 0; k < plan.size(); ++k) cj.push_back(std::sin(1.7 * static_cast<double>(j * 31 + k)) * 3.1);
    in.c.push_back(cj);
  }
  for (size_t j = 0; j < n; ++j) {
    in.tp.push_back(&in.t[j]);
    in.cp.push_back(&in.c[j]);
  }
  return in;
}

TEST(FrameCombine, OnePassEqualsTheTensorOperationsBitwise) {
  for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    const at::Tensor like = at::zeros({2, 3, 4, 5, 6}, dtype);
    const FramePlan plan = make_frame_plan({10.0}, SampleContext{}, like, "test");
    for (size_t n = 1; n <= 6; ++n) {
      const CombineInputs in = combine_inputs(plan, like, n);
      const auto& [t, c, tp, cp] = in;
      at::Tensor expected = t[0] * plan.frame_values(c[0], like);
      for (size_t j = 1; j < n; ++j) expected = expected + t[j] * plan.frame_values(c[j], like);
      EXPECT_TRUE(at::equal(plan.combine(tp, cp), expected)) << n << " terms, " << dtype;
    }
  }
}

TEST(FrameCombine, TwoInOnePassEqualTwoCombinationsBitwise) {
  // UniPC's corrector then predictor: up to 5 terms, the second reading the first and some of the terms.
  for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    const at::Tensor like = at::zeros({2, 3, 4, 5, 6}, dtype);
    const FramePlan plan = make_frame_plan({10.0}, SampleContext{}, like, "test");
    for (size_t n = 2; n <= 5; ++n) {
      const CombineInputs in = combine_inputs(plan, like, n, 4);
      const auto& [t, c, tp, cp] = in;
      // The second: the first, the last term, then the terms from index 1 (as UniPC's history reads).
      std::vector<size_t> then_terms = {n - 1};
      for (size_t j = 1; j + 1 < n && then_terms.size() < 3; ++j) then_terms.push_back(j);
      std::vector<const std::vector<double>*> then_coefs;
      for (size_t j = 0; j <= then_terms.size(); ++j) then_coefs.push_back(&c[n + j]);
      const auto [first, second] = plan.combine_twice(tp, cp, then_terms, then_coefs);
      const at::Tensor want_first = plan.combine(tp, cp);
      std::vector<const at::Tensor*> second_terms = {&want_first};
      for (size_t j : then_terms) second_terms.push_back(tp[j]);
      EXPECT_TRUE(at::equal(first, want_first)) << n << " terms, " << dtype;
      EXPECT_TRUE(at::equal(second, plan.combine(second_terms, then_coefs))) << n << " terms, " << dtype;
    }
  }
  const at::Tensor a = at::randn({1, 1, 2, 2, 2});
  const FramePlan plan = make_frame_plan({10.0}, SampleContext{}, a, "test");
  const std::vector<double> one(2, 1.0);
  EXPECT_THROW(plan.combine_twice({&a}, {&one}, {3}, {&one, &one}), Error);
  EXPECT_THROW(plan.combine_twice({&a}, {&one}, {0}, {&one}), Error);
}

// Per-frame coefficients of every sign and size, a function of (which, frame).
std::vector<double> frame_coefs(const FramePlan& plan, int which) {
  std::vector<double> c;
  for (int64_t k = 0; k < plan.size(); ++k) c.push_back(std::sin(1.3 * static_cast<double>(which * 17 + k) + 0.4) * 1.7);
  return c;
}

TEST(AncestralUpdate, OnePassEqualsTheTensorSequenceBitwise) {
  // H x W of 7 x 5 (rows not a multiple of the 32 draws of a chunk) and 64 x 48 (rows longer than a block).
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{2, 3, 4, 7, 5}, std::vector<int64_t>{1, 2, 3, 64, 48}}) {
    const at::Tensor x = at::randn(shape, at::kFloat) * 2;
    const at::Tensor out = at::randn(shape, at::kFloat) * 2;
    const FramePlan plan = make_frame_plan({10.0}, SampleContext{}, x, "test");
    const std::vector<double> x0x = frame_coefs(plan, 0), x0o = frame_coefs(plan, 1), c0 = frame_coefs(plan, 2),
                              cx = frame_coefs(plan, 3), sd = frame_coefs(plan, 4);
    for (bool direct : {false, true})
      for (bool clip : {false, true})
        for (bool noise : {false, true}) {
          at::Tensor x0 = direct ? out : plan.combine({&x, &out}, {&x0x, &x0o});
          if (clip) x0 = x0.clamp(-0.8, 0.8);
          at::Tensor expected;
          if (noise) {
            at::Tensor z = at::empty(shape, at::kFloat);
            fill_standard_normal(z.data_ptr<float>(), z.numel(), 99);
            expected = plan.combine({&x0, &x, &z}, {&c0, &cx, &sd});
          } else {
            expected = plan.combine({&x0, &x}, {&c0, &cx});
          }
          AncestralUpdate u;
          if (!direct) {
            u.x0_x = &x0x;
            u.x0_out = &x0o;
          }
          u.clip = clip;
          u.clip_range = 0.8;
          u.c_x0 = &c0;
          u.c_x = &cx;
          if (noise) u.c_noise = &sd;
          GaussianStream stream(99);
          EXPECT_TRUE(at::equal(ancestral_update(plan, x, out, u, noise ? &stream : nullptr), expected))
              << "direct " << direct << " clip " << clip << " noise " << noise << " shape " << x.sizes();
        }
  }
}

TEST(AncestralUpdate, DdpmSamplesAreBitwiseThoseOfTheTensorSequence) {
  // The same fast draws injected as step_noise take DDPM's tensor path (combine, clamp, combine): the
  // one-pass update must give bitwise the same samples, for every parameterisation, with and without
  // clipping, and with per-frame timesteps.
  const at::Tensor x = at::randn({2, 3, 4, 6, 10}, at::kFloat);
  const std::vector<double> base = ddim_timesteps(1000, 6, "leading", 0);
  at::Tensor frame_t = at::empty({6, 2, 4}, at::kDouble);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t f = 0; f < 4; ++f)
        frame_t[i][b][f] = std::max(0.0, base[static_cast<size_t>(i)] - 10.0 * static_cast<double>(f) - 3.0 * static_cast<double>(b));
  for (Prediction prediction : {Prediction::eps, Prediction::v, Prediction::x0})
    for (bool clip : {true, false})
      for (bool per_frame : {false, true}) {
        auto run = [&](bool inject) {
          SampleContext ctx;
          ctx.prediction = prediction;
          ctx.generator = at::make_generator<at::CPUGeneratorImpl>(5);
          if (per_frame) ctx.frame_timesteps = frame_t;
          if (inject) {
            auto gen = std::make_shared<SampleContext>();
            gen->generator = at::make_generator<at::CPUGeneratorImpl>(5);
            ctx.step_noise = [gen](int64_t step, const at::Tensor& like) {
              return step_noise(*gen, step, like, NoiseDraws::fast);
            };
          }
          SampleStats stats;
          return testing::make_sampler("ddpm", {{"steps", 6}, {"clip_sample", clip}})
              ->sample(testing::oracle_denoise(), x, ctx, stats);
        };
        const at::Tensor fused = run(false), sequence = run(true);
        EXPECT_TRUE(at::isfinite(fused).all().item<bool>());
        EXPECT_TRUE(at::equal(fused, sequence)) << "prediction " << static_cast<int>(prediction) << " clip " << clip
                                                << " per-frame " << per_frame;
      }
}

}  // namespace
}  // namespace vdlab
