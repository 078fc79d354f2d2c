#pragma once
// The built-in noise inits. Each keeps unit marginal variance; they differ in correlation across frames.
#include "methods/noise/noise_init.h"

namespace vdlab {

// eps ~ N(0, I).
class IidNoise : public NoiseInit {
 public:
  at::Tensor draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const override;
};

// AR(1) along frames: eps_1 = xi_1, eps_f = rho eps_{f-1} + sqrt(1 - rho^2) xi_f; corr(f, g) = rho^|f-g|.
class Ar1Noise : public NoiseInit {
 public:
  explicit Ar1Noise(double rho);
  at::Tensor draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const override;
  double rho() const { return rho_; }

 private:
  double rho_;
};

// Mixed: eps_f = sqrt(rho) shared + sqrt(1 - rho) xi_f; corr(f, g) = rho for f != g.
class MixedNoise : public NoiseInit {
 public:
  explicit MixedNoise(double rho);
  at::Tensor draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const override;
  double rho() const { return rho_; }

 private:
  double rho_;
};

}  // namespace vdlab
