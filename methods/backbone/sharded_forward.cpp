#include "methods/backbone/sharded_forward.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"

namespace vdlab {

namespace {

// Each shard is one task of ATen's OpenMP pool. ATen's parallel_for is a header template that runs
// serially in a file compiled without OpenMP, so this file is compiled with it (methods/CMakeLists.txt),
// and inside a shard the OpenMP thread count is set to one: ATen's own loops would run serially anyway
// (nested), but kernels that size their work by the count (oneDNN's, reductions' per-thread buffers) do not.
void set_openmp_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

// fn(s) for every shard, each on its own thread of ATen's pool, seeing one thread inside.
void run_shards(int64_t shards, const std::function<void(int64_t)>& fn) {
  const int threads = at::get_num_threads();
  at::parallel_for(0, shards, 1, [&](int64_t begin, int64_t end) {
    // ATen sets a thread's count to its global one the first time the thread uses it: before ours, or a
    // process's first step would run part of a shard with two threads and differ in the last bits.
    at::internal::lazy_init_num_threads();
    set_openmp_threads(1);
    for (int64_t s = begin; s < end; ++s) fn(s);
  });
  set_openmp_threads(threads);  // the calling thread ran a shard too
}

}  // namespace

ShardedForward::ShardedForward(VideoUNet model, int threads) : model_(std::move(model)), threads_(std::max(1, threads)) {}

VideoUNet& ShardedForward::module_for(size_t shard) { return shard == 0 ? model_ : replicas_[shard - 1]; }

void ShardedForward::sync_replicas(size_t count) {
  // Replicas are built once; building one draws its initial weights from the global generator, which is
  // the caller's: keep its state as it was.
  const auto params = model_->parameters();
  if (replicas_.size() < count) {
    auto generator = at::detail::getDefaultCPUGenerator();
    const at::Tensor state = generator.get_state();
    while (replicas_.size() < count) {
      replicas_.emplace_back(model_->config());
      if (!params.empty()) replicas_.back()->to(params.front().device(), params.front().scalar_type());
    }
    generator.set_state(state);
  }
  // The model's current weights, trainable flags and mode, every step: the optimiser moved the weights,
  // a training stage may have changed which parameters learn.
  torch::NoGradGuard no_grad;
  const auto buffers = model_->buffers();
  for (size_t r = 0; r < count; ++r) {
    VideoUNet& replica = replicas_[r];
    auto rp = replica->parameters();
    auto rb = replica->buffers();
    if (rp.size() != params.size() || rb.size() != buffers.size())
      throw Error("sharded training: a replica of the network has another set of parameters");
    for (size_t i = 0; i < params.size(); ++i) {
      rp[i].copy_(params[i]);
      rp[i].set_requires_grad(params[i].requires_grad());
      rp[i].mutable_grad() = torch::Tensor();
    }
    for (size_t i = 0; i < buffers.size(); ++i) rb[i].copy_(buffers[i]);
    replica->train(model_->is_training());
  }
}

torch::Tensor ShardedForward::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                                      const std::vector<std::string>& captions, const ForwardOptions& options) {
  shard_outputs_.clear();
  sizes_.clear();
  offsets_.clear();
  output_ = torch::Tensor();
  const int64_t batch = x.size(0);
  const bool per_call_controls = bool(options.temporal) || !options.taps.empty();
  const int64_t shards = std::min<int64_t>(threads_, batch);
  if (shards <= 1 || per_call_controls || !x.device().is_cpu()) {
    sizes_.push_back(batch);
    return model_->forward(x, t, labels, captions, options).prediction;
  }
  sync_replicas(size_t(shards - 1));
  for (int64_t s = 0, offset = 0; s < shards; ++s) {
    const int64_t n = batch / shards + (s < batch % shards ? 1 : 0);
    offsets_.push_back(offset);
    sizes_.push_back(n);
    offset += n;
  }
  shard_outputs_.assign(size_t(shards), torch::Tensor());
  const bool grad = torch::GradMode::is_enabled();
  run_shards(shards, [&](int64_t s) {
    torch::AutoGradMode grad_mode(grad);  // grad mode is per thread
    const int64_t o = offsets_[size_t(s)], n = sizes_[size_t(s)];
    ForwardOptions shard_options = options;
    if (options.motion.defined()) shard_options.motion = options.motion.narrow(0, o, n);
    std::vector<std::string> shard_captions;
    if (!captions.empty()) shard_captions.assign(captions.begin() + o, captions.begin() + o + n);
    shard_outputs_[size_t(s)] =
        module_for(size_t(s))
            ->forward(x.narrow(0, o, n), t.narrow(0, o, n), labels.defined() ? labels.narrow(0, o, n) : labels,
                      shard_captions, shard_options)
            .prediction;
  });
  std::vector<torch::Tensor> detached;
  for (const auto& out : shard_outputs_) detached.push_back(out.detach());
  output_ = torch::cat(detached, 0);
  if (grad) output_.requires_grad_(true);
  else shard_outputs_.clear();
  return output_;
}

void ShardedForward::backward(const torch::Tensor& output) {
  if (shard_outputs_.empty()) return;  // unsplit: the loss's backward reached the network itself
  if (!output.is_same(output_)) throw Error("sharded training: backward of another tensor than the last forward's output");
  const torch::Tensor g = output.grad();
  if (!g.defined()) throw Error("sharded training: backward before the loss's backward reached the output");
  const int64_t shards = int64_t(shard_outputs_.size());
  run_shards(shards, [&](int64_t s) {
    torch::autograd::backward({shard_outputs_[size_t(s)]}, {g.narrow(0, offsets_[size_t(s)], sizes_[size_t(s)])});
  });
  shard_outputs_.clear();
  output_ = torch::Tensor();
  // Shard 0's gradients are the model's own; add the others in shard order.
  torch::NoGradGuard no_grad;
  auto params = model_->parameters();
  for (int64_t s = 1; s < shards; ++s) {
    auto rp = replicas_[size_t(s - 1)]->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor& rg = rp[i].grad();
      if (!rg.defined()) continue;
      if (params[i].grad().defined()) params[i].mutable_grad().add_(rg);
      else params[i].mutable_grad() = rg.clone();
      rp[i].mutable_grad() = torch::Tensor();
    }
  }
}

}  // namespace vdlab
