#include "methods/samplers/model_output.h"

#include <ATen/ATen.h>

namespace vdlab {

at::Tensor predict_x0(const at::Tensor& out, const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& sigma,
                      Prediction prediction) {
  switch (prediction) {
    case Prediction::eps: return (x - sigma * out) / alpha;
    case Prediction::v: return alpha * x - sigma * out;
    case Prediction::x0: return out;
  }
  return out;
}

at::Tensor predict_eps(const at::Tensor& out, const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& sigma,
                       Prediction prediction) {
  switch (prediction) {
    case Prediction::eps: return out;
    case Prediction::v: return alpha * out + sigma * x;
    case Prediction::x0: return (x - alpha * out) / sigma;
  }
  return out;
}

AffineConversion x0_conversion(double alpha, double sigma, Prediction prediction) {
  switch (prediction) {
    case Prediction::eps: return {1.0 / alpha, -sigma / alpha};  // (x - sigma eps) / alpha
    case Prediction::v: return {alpha, -sigma};                  // alpha x - sigma v
    case Prediction::x0: return {0.0, 1.0};
  }
  return {};
}

AffineConversion eps_conversion(double alpha, double sigma, Prediction prediction) {
  switch (prediction) {
    case Prediction::eps: return {0.0, 1.0};
    case Prediction::v: return {sigma, alpha};                   // alpha v + sigma x
    case Prediction::x0: return {1.0 / sigma, -alpha / sigma};  // (x - alpha x0) / sigma
  }
  return {};
}

at::Tensor dynamic_threshold(const at::Tensor& x0, double ratio, double max_value) {
  const int64_t b = x0.size(0);
  at::Tensor flat = x0.reshape({b, -1});
  at::Tensor s = at::quantile(flat.abs(), ratio, /*dim=*/1).clamp(1.0, max_value).unsqueeze(1);
  return (at::minimum(at::maximum(flat, -s), s) / s).reshape(x0.sizes());
}

}  // namespace vdlab
