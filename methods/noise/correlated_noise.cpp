#include "methods/noise/correlated_noise.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace vdlab {

namespace {

void check_video_shape(at::IntArrayRef shape) {
  if (shape.size() != 5)
    throw Error("noise init: expected a [B, C, F, H, W] shape, got " + std::to_string(shape.size()) + " dims");
}

void check_rho(double rho, const char* what) {
  if (!(rho >= 0.0 && rho <= 1.0))
    throw ConfigError(std::string(what) + ".rho: must lie in [0, 1], got " + std::to_string(rho));
}

}  // namespace

at::Tensor IidNoise::draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const {
  check_video_shape(shape);
  return at::randn(shape, gen, opts);
}

Ar1Noise::Ar1Noise(double rho) : rho_(rho) { check_rho(rho, "ar1"); }

at::Tensor Ar1Noise::draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const {
  check_video_shape(shape);
  at::Tensor xi = at::randn(shape, gen, opts);
  at::Tensor eps = at::empty_like(xi);
  const double innovation = std::sqrt(1.0 - rho_ * rho_);
  eps.select(2, 0).copy_(xi.select(2, 0));
  for (int64_t f = 1; f < shape[2]; ++f)
    eps.select(2, f).copy_(eps.select(2, f - 1) * rho_ + xi.select(2, f) * innovation);
  return eps;
}

MixedNoise::MixedNoise(double rho) : rho_(rho) { check_rho(rho, "mixed"); }

at::Tensor MixedNoise::draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const {
  check_video_shape(shape);
  // The shared draw first, then the per-frame draws: a fixed order keeps the seed meaningful.
  at::Tensor shared = at::randn({shape[0], shape[1], 1, shape[3], shape[4]}, gen, opts);
  at::Tensor xi = at::randn(shape, gen, opts);
  return shared * std::sqrt(rho_) + xi * std::sqrt(1.0 - rho_);
}

}  // namespace vdlab
