#pragma once
// The per-step parameter updates of backbone training as single passes over all parameters: AdamW
// (with the gradient-norm clipping folded in) and the EMA of the sampling weights.
//
// LibTorch's AdamW, clip_grad_norm_ and a per-parameter EMA run about ten tensor operations per
// parameter tensor, each a dispatch and most an allocation: for the tiny UNet's ~200 small tensors that
// is thousands of operations a step, several milliseconds against a ~100 ms step. Here every update is
// one parallel loop over fixed chunks of the parameters, each element read and written once.
//
// Arithmetic: AdamW's formula as torch.optim.AdamW writes it (decoupled weight decay, bias-corrected
// moments, eps added to the corrected root), in float32 with every operation rounded (no FMA
// contraction: the same bits on AVX-512, AVX2 and baseline x86-64); the gradient norm in double over
// fixed chunks summed in order. Results depend on neither the thread count nor the vector width, so
// a resumed run is bitwise the uninterrupted one. They differ from LibTorch's own kernels in the last
// bits (those use fused multiply-adds on some paths and a float norm).
//
// The optimizer state is LibTorch's (AdamWParamState per parameter, created on a parameter's first
// gradient as LibTorch creates it), so checkpoints keep their format: save/load are AdamW's.
#include <torch/optim/adamw.h>

#include <vector>

namespace vdlab {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;

  // The global 2-norm of the gradients of the parameters that have one (as clip_grad_norm_), and the
  // scale min(1, max_norm / (norm + 1e-6)) (in float, as clip_grad_norm_ computes it) that the next
  // step() applies to them. max_norm <= 0 only measures.
  double clip_grad_norm(double max_norm);

  // One AdamW step of every parameter with a gradient (others keep their values and state, as in
  // LibTorch), the pending clip scale applied to the gradients as they are read.
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  float grad_scale_ = 1.0f;
};

// ema = decay * ema + (1 - decay) * param for every pair (as ema.mul_(decay).add_(param, 1 - decay)),
// one pass. Both lists hold the same shapes in the same order.
void ema_update(const std::vector<torch::Tensor>& ema, const std::vector<torch::Tensor>& params, double decay);

}  // namespace vdlab
