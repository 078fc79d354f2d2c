#pragma once
// From raw model output to the quantities solvers step with (METHODS.md 1.2): the data prediction x0 or
// the noise prediction eps, for eps-, v- and x0-predicting networks, and dynamic thresholding.
// alpha and sigma are the VP coefficients of the current step, broadcastable against x.
#include <ATen/core/Tensor.h>

#include "methods/backbone/backbone.h"

namespace vdlab {

at::Tensor predict_x0(const at::Tensor& out, const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& sigma,
                      Prediction prediction);
at::Tensor predict_eps(const at::Tensor& out, const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& sigma,
                       Prediction prediction);

// The same conversions as affine maps of one frame, converted = x_coef x + out_coef out, so a sampler
// can apply them in one pass with coefficients computed in double (FramePlan::combine).
struct AffineConversion {
  double x_coef = 0, out_coef = 1;
};
AffineConversion x0_conversion(double alpha, double sigma, Prediction prediction);
AffineConversion eps_conversion(double alpha, double sigma, Prediction prediction);

// Imagen's dynamic thresholding: s = quantile(|x0|, ratio) per batch entry, clamped to [1, max_value];
// x0 is clamped to [-s, s] and divided by s.
at::Tensor dynamic_threshold(const at::Tensor& x0, double ratio, double max_value);

}  // namespace vdlab
