// The fused AdamW, clipping and EMA passes (methods/training/fused_updates.h) compute LibTorch's AdamW,
// clip_grad_norm_ and per-tensor EMA (to float rounding), skip parameters without a gradient as
// LibTorch does, keep LibTorch's optimizer state (so checkpoints keep their format), and give the same
// bits on one thread or two.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <vector>

#include "methods/training/fused_updates.h"

namespace vdlab {
namespace {

// Parameters of mixed sizes (a chunk boundary crossed, a tail of odd length), with gradients drawn
// from a fixed seed; the last one never gets a gradient.
std::vector<torch::Tensor> make_params(uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> out;
  for (int64_t n : {7, 300, 40000, 33, 5})
    out.push_back(torch::randn({n}).requires_grad_(true));
  return out;
}

void set_grads(std::vector<torch::Tensor>& params, int step) {
  torch::manual_seed(1000 + step);
  for (size_t i = 0; i + 1 < params.size(); ++i) params[i].mutable_grad() = torch::randn(params[i].sizes()) * 0.5;
}

TEST(FusedUpdates, AdamWClippingAndEmaFollowLibTorch) {
  std::vector<torch::Tensor> fused_p = make_params(3), ref_p = make_params(3);
  std::vector<torch::Tensor> fused_e, ref_e;
  for (auto& p : fused_p) fused_e.push_back(p.detach().clone());
  for (auto& p : ref_p) ref_e.push_back(p.detach().clone());
  const torch::Tensor untouched = fused_p.back().detach().clone();
  FusedAdamW fused(fused_p, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  torch::optim::AdamW ref(ref_p, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  for (int step = 0; step < 6; ++step) {
    set_grads(fused_p, step);
    set_grads(ref_p, step);
    // max_norm 5 clips on some steps only (the gradients' norm is about 0.5 sqrt(40345) = 100).
    const double max_norm = step % 2 == 0 ? 5.0 : 1000.0;
    const double fused_norm = fused.clip_grad_norm(max_norm);
    std::vector<torch::Tensor> with_grad(ref_p.begin(), ref_p.end() - 1);
    const double ref_norm = torch::nn::utils::clip_grad_norm_(with_grad, max_norm);
    EXPECT_NEAR(fused_norm, ref_norm, 1e-5 * ref_norm) << step;
    fused.step();
    ref.step();
    ema_update(fused_e, fused_p, 0.9);
    {
      torch::NoGradGuard guard;
      for (size_t i = 0; i < ref_e.size(); ++i) ref_e[i].mul_(0.9).add_(ref_p[i], 0.1);
    }
    for (size_t i = 0; i < fused_p.size(); ++i) {
      EXPECT_TRUE(torch::allclose(fused_p[i], ref_p[i], 1e-5, 1e-6)) << "parameter " << i << " step " << step;
      EXPECT_TRUE(torch::allclose(fused_e[i], ref_e[i], 1e-5, 1e-6)) << "EMA " << i << " step " << step;
    }
  }
  // No gradient: no step, no weight decay, no state (as LibTorch).
  EXPECT_TRUE(torch::equal(fused_p.back(), untouched));
  EXPECT_EQ(fused.state().size(), fused_p.size() - 1);
  EXPECT_EQ(ref.state().size(), ref_p.size() - 1);
  // The state is LibTorch's: the moments match what LibTorch's own AdamW keeps.
  for (size_t i = 0; i + 1 < fused_p.size(); ++i) {
    const auto key = c10::guts::to_string(fused_p[i].unsafeGetTensorImpl());
    const auto ref_key = c10::guts::to_string(ref_p[i].unsafeGetTensorImpl());
    const auto& fs = static_cast<const torch::optim::AdamWParamState&>(*fused.state().at(key));
    const auto& rs = static_cast<const torch::optim::AdamWParamState&>(*ref.state().at(ref_key));
    EXPECT_EQ(fs.step(), rs.step());
    EXPECT_TRUE(torch::allclose(fs.exp_avg(), rs.exp_avg(), 1e-5, 1e-7)) << i;
    EXPECT_TRUE(torch::allclose(fs.exp_avg_sq(), rs.exp_avg_sq(), 1e-5, 1e-9)) << i;
  }
}

TEST(FusedUpdates, SameBitsOnOneThreadOrTwo) {
  auto run = [](int threads) {
    const int old = at::get_num_threads();
    at::set_num_threads(threads);
    std::vector<torch::Tensor> p = make_params(4);
    std::vector<torch::Tensor> e;
    for (auto& t : p) e.push_back(t.detach().clone());
    FusedAdamW opt(p, torch::optim::AdamWOptions(1e-2));
    std::vector<double> norms;
    for (int step = 0; step < 4; ++step) {
      set_grads(p, step);
      norms.push_back(opt.clip_grad_norm(5.0));
      opt.step();
      ema_update(e, p, 0.99);
    }
    at::set_num_threads(old);
    p.insert(p.end(), e.begin(), e.end());
    return std::make_pair(p, norms);
  };
  const auto one = run(1), two = run(2);
  EXPECT_EQ(one.second, two.second);
  for (size_t i = 0; i < one.first.size(); ++i) EXPECT_TRUE(torch::equal(one.first[i], two.first[i])) << i;
}

}  // namespace
}  // namespace vdlab
