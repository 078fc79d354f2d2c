#pragma once
// Step consistency of motion matrices (the source's Definition 1 and Figure 1): NMI between the motion
// matrices of consecutive steps, and between each step's and the last step's, with the fixed binning of
// METRICS.md (metrics/nmi.h).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "metrics/nmi.h"

namespace vdlab {

struct NmiCurves {
  std::vector<double> next;     // [steps - 1]: NMI(M_k, M_{k+1})
  std::vector<double> to_last;  // [steps]: NMI(M_k, M_last)
};

// matrices: one [N, N] motion matrix per step, in step order (one video).
NmiCurves nmi_curves(const std::vector<at::Tensor>& matrices, const NmiBinning& binning = {});

// Per-step latent residuals dz_k = s_{k+1} - s_k from the samples at each step boundary (states[0] the
// run's start), frame f of video v: [C, H, W] each.
std::vector<at::Tensor> frame_residuals(const std::vector<at::Tensor>& states, int64_t video, int64_t frame);

// Element-wise running mean of curves of one length (videos, batches).
class CurveMean {
 public:
  void add(const std::vector<double>& curve);
  std::vector<double> mean() const;
  int64_t count() const { return count_; }

 private:
  std::vector<double> sum_;
  int64_t count_ = 0;
};

// NMI curves of the residual motion matrices between frames i and j of one video over a run.
NmiCurves residual_nmi_curves(const std::vector<at::Tensor>& states, int64_t video, int64_t frame_i, int64_t frame_j,
                              int64_t patch, const NmiBinning& binning = {});

}  // namespace vdlab
