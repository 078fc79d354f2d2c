#pragma once
// A training batch's forward and backward split across the compute threads: one shard of the batch per
// thread, each through its own copy of the network with every operation single-threaded, the shards'
// parameter gradients summed in shard order into the network's. A tiny network's operations are too
// small to share between threads (on two cores a tiny-UNet step at batch 8 ran faster on one thread
// than on two sharing each operation: thread wake-ups and split loops cost more than they gain); whole
// samples are not. bench_train_tiny measures both.
//
// Deterministic at a fixed thread count: shard s always holds the same samples, runs on one thread, and
// its gradients are added in shard order. With one thread, one sample, per-call controls (temporal
// control, feature taps) or a network off the CPU it is the network's own forward and backward.
//
//   ShardedForward shards(model, at::get_num_threads());
//   at::Tensor output = shards.forward(x, t, labels, captions, options);  // a leaf that requires grad
//   loss(output).backward();                                              // d loss / d output only
//   shards.backward(output);                                              // the network's gradients
//
// The loss sees the whole batch, so every loss term (methods/training/objective.h) stays as it is.
#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "methods/backbone/unet.h"

namespace vdlab {

class ShardedForward {
 public:
  // `threads`: the shards a batch is split into, at most (one per compute thread).
  ShardedForward(VideoUNet model, int threads);

  // The network's prediction for the whole batch. Split into shards, it is a leaf holding the shards'
  // outputs (requiring grad when grad mode is on); unsplit, the network's own output.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                        const std::vector<std::string>& captions, const ForwardOptions& options = {});

  // After the loss's backward reached `output` (the last forward's result): each shard's backward, in
  // parallel, and the sum of their gradients into the network's parameters. Nothing to do unsplit.
  void backward(const torch::Tensor& output);

  // How many shards the last forward used (1: unsplit).
  int last_shards() const { return int(sizes_.size()); }

 private:
  VideoUNet& module_for(size_t shard);
  void sync_replicas(size_t count);

  VideoUNet model_;
  int threads_;
  std::vector<VideoUNet> replicas_;            // shards 1, 2, ...; shard 0 runs on the model itself
  std::vector<torch::Tensor> shard_outputs_;  // with their graphs, until backward
  std::vector<int64_t> sizes_, offsets_;       // the last forward's shards: samples and first sample
  torch::Tensor output_;                       // the leaf the last split forward returned
};

}  // namespace vdlab
