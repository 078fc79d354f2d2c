// The sharded training step (methods/backbone/sharded_forward.h): the same gradients as the unsplit
// network's, bitwise repeatable, and the unsplit path itself where it must not split.
#include "methods/backbone/sharded_forward.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "backbone_test_support.h"
#include "core/error.h"

namespace vdlab {
namespace {

struct Batch {
  torch::Tensor x, t, labels, target;
  std::vector<std::string> captions;
};

Batch make_batch(int64_t b, torch::Dtype dtype) {
  torch::manual_seed(11);
  Batch batch;
  batch.x = torch::randn({b, 3, 4, 8, 8}, dtype);
  batch.t = torch::randint(1000, {b, 4}).to(torch::kFloat32);
  batch.target = torch::randn({b, 3, 4, 8, 8}, dtype);
  return batch;
}

// Threads set for the test's scope.
struct Threads {
  explicit Threads(int n) : old(at::get_num_threads()) { at::set_num_threads(n); }
  ~Threads() { at::set_num_threads(old); }
  int old;
};

std::vector<torch::Tensor> gradients(VideoUNet& model) {
  std::vector<torch::Tensor> g;
  for (auto& p : model->parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return g;
}

void clear_gradients(VideoUNet& model) {
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
}

// Loss and gradients of one step: unsplit (the network itself) or through ShardedForward.
std::pair<torch::Tensor, std::vector<torch::Tensor>> step(VideoUNet& model, ShardedForward* shards, const Batch& b) {
  clear_gradients(model);
  torch::Tensor out = shards ? shards->forward(b.x, b.t, b.labels, b.captions)
                             : model->forward(b.x, b.t, b.labels, b.captions).prediction;
  torch::mse_loss(out, b.target).backward();
  if (shards) shards->backward(out);
  return {out.detach().clone(), gradients(model)};
}

TEST(ShardedForward, SplitsTheBatchAndGivesTheUnsplitGradients) {
  // In double precision the two differ only by the order the shards' gradients are summed in.
  Threads threads(2);
  torch::manual_seed(1);
  VideoUNet model(testing::micro_unet());
  model->to(torch::kFloat64);
  const Batch b = make_batch(5, torch::kFloat64);  // shards of 3 and 2
  const auto [want_out, want_grads] = step(model, nullptr, b);
  ShardedForward shards(model, 2);
  const auto [out, grads] = step(model, &shards, b);
  EXPECT_EQ(shards.last_shards(), 2);
  EXPECT_TRUE(torch::allclose(out, want_out, 1e-12, 1e-12));
  ASSERT_EQ(grads.size(), want_grads.size());
  size_t with_grad = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    ASSERT_EQ(grads[i].defined(), want_grads[i].defined()) << "parameter " << i;
    if (!grads[i].defined()) continue;
    ++with_grad;
    EXPECT_TRUE(torch::allclose(grads[i], want_grads[i], 1e-10, 1e-12))
        << "parameter " << i << ": max |diff| " << (grads[i] - want_grads[i]).abs().max().item<double>();
  }
  EXPECT_GT(with_grad, 10u);
}

TEST(ShardedForward, BitwiseRepeatableAndTheReplicasFollowTheWeights) {
  Threads threads(2);
  torch::manual_seed(2);
  VideoUNet model(testing::micro_unet());
  const Batch b = make_batch(4, torch::kFloat32);
  ShardedForward shards(model, 2);
  const auto first = step(model, &shards, b);
  const auto again = step(model, &shards, b);
  EXPECT_TRUE(torch::equal(first.first, again.first));
  for (size_t i = 0; i < first.second.size(); ++i)
    if (first.second[i].defined()) {
      EXPECT_TRUE(torch::equal(first.second[i], again.second[i])) << "parameter " << i;
    }
  // The weights move (as an optimiser moves them) and a parameter stops learning (as a training stage
  // may decide): the next step sees both.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.mul_(0.5);
  }
  model->parameters()[0].set_requires_grad(false);
  const auto moved = step(model, &shards, b);
  const auto [want_out, want_grads] = step(model, nullptr, b);
  EXPECT_TRUE(torch::allclose(moved.first, want_out, 1e-5, 1e-6));
  EXPECT_FALSE(moved.second[0].defined());
  for (size_t i = 1; i < moved.second.size(); ++i)
    if (want_grads[i].defined()) {
      EXPECT_TRUE(torch::allclose(moved.second[i], want_grads[i], 1e-4, 1e-6)) << "parameter " << i;
    }
}

TEST(ShardedForward, OneThreadOrOneSampleIsTheNetworkItself) {
  torch::manual_seed(3);
  VideoUNet model(testing::micro_unet());
  for (const auto& [threads, batch] : std::vector<std::pair<int, int64_t>>{{1, 4}, {2, 1}}) {
    Threads scope(threads);
    const Batch b = make_batch(batch, torch::kFloat32);
    ShardedForward shards(model, threads);
    const auto ours = step(model, &shards, b);
    EXPECT_EQ(shards.last_shards(), 1);
    const auto plain = step(model, nullptr, b);
    EXPECT_TRUE(torch::equal(ours.first, plain.first));
    for (size_t i = 0; i < ours.second.size(); ++i)
      if (plain.second[i].defined()) {
        EXPECT_TRUE(torch::equal(ours.second[i], plain.second[i])) << "parameter " << i;
      }
  }
}

TEST(ShardedForward, LeavesTheGlobalGeneratorAndThreadCountAsTheyWere) {
  Threads threads(2);
  torch::manual_seed(4);
  VideoUNet model(testing::micro_unet());
  const Batch b = make_batch(4, torch::kFloat32);
  torch::manual_seed(5);
  const torch::Tensor expected = torch::rand({3});
  torch::manual_seed(5);
  ShardedForward shards(model, 2);
  auto out = shards.forward(b.x, b.t, b.labels, b.captions);  // builds the replica
  EXPECT_TRUE(torch::equal(torch::rand({3}), expected));
  EXPECT_EQ(at::get_num_threads(), 2);
  torch::mse_loss(out, b.target).backward();
  shards.backward(out);
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST(ShardedForward, BackwardBeforeTheLossReachedTheOutputIsAnError) {
  Threads threads(2);
  torch::manual_seed(6);
  VideoUNet model(testing::micro_unet());
  const Batch b = make_batch(4, torch::kFloat32);
  ShardedForward shards(model, 2);
  auto out = shards.forward(b.x, b.t, b.labels, b.captions);
  EXPECT_THROW(shards.backward(out), Error);
  EXPECT_THROW(shards.backward(out * 2), Error);
}

}  // namespace
}  // namespace vdlab
