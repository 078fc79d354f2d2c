#pragma once
// Analytic denoisers registered as backbones, so sampler studies and tests need no training:
// - "diffusers-test": diffusers' scheduler-test model, eps = x t / (t + 1), per frame;
// - "gaussian": the exact posterior-mean denoiser for Gaussian video data, x0 ~ N(mean, K) with K an
//   AR(1) covariance across frames (std^2 rho^|f-g|), independent over channels and pixels;
// - "gaussian-mixture": the exact denoiser for a mixture of such Gaussians with fixed random means.
// The exact denoiser conditions on the frames' own noise levels (timesteps are per frame): with
// x_t = A x0 + S eps, A = diag(alpha_f), S = diag(sigma_f), E[x0 | x_t, k] = mu_k + K A C^-1 (x_t - A mu_k),
// C = A K A + S^2, and component posteriors from N(x_t; A mu_k, C).
#include <ATen/core/Tensor.h>

#include <vector>

#include "methods/backbone/backbone.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {

class DiffusersTestBackbone : public Backbone {
 public:
  DiffusersTestBackbone(int64_t channels, Json schedule);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override;
  Prediction prediction() const override { return Prediction::eps; }
  Json schedule() const override { return schedule_; }
  int64_t channels() const override { return channels_; }
  Json describe() const override;

 private:
  int64_t channels_;
  Json schedule_;
};

struct GaussianMixtureSpec {
  int64_t channels = 3;
  double frame_rho = 0.9;      // correlation of consecutive frames within a component
  double component_std = 0.3;  // per-element standard deviation within a component
  // [K, C, F, H, W] means (or [1, 1, 1, 1, 1] for one constant mean, any shape then) and mixture weights.
  at::Tensor means;
  std::vector<double> weights;
  Prediction prediction = Prediction::eps;
  Json schedule;
  Json config;  // the resolved parameters, for describe()
};

class GaussianMixtureBackbone : public Backbone {
 public:
  explicit GaussianMixtureBackbone(GaussianMixtureSpec spec);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override;
  // The posterior mean E[x0 | x_t] itself, [B, C, F, H, W], computed in double.
  at::Tensor posterior_mean(const at::Tensor& x, const at::Tensor& t) const;
  // Draws n clean videos of shape [C, F, H, W] from the data distribution.
  at::Tensor sample_data(int64_t n, at::IntArrayRef video_shape, at::Generator& gen) const;
  Prediction prediction() const override { return spec_.prediction; }
  Json schedule() const override { return spec_.schedule; }
  int64_t channels() const override { return spec_.channels; }
  Json describe() const override { return spec_.config; }

 private:
  at::Tensor frame_covariance(int64_t frames) const;  // [F, F] double
  GaussianMixtureSpec spec_;
  NoiseSchedule table_;
  std::vector<double> sigmas_;  // VE sigma table, to read fractional timesteps as the samplers do
};

// Registers "diffusers-test", "gaussian" and "gaussian-mixture" in backbone_registry(). Safe to call twice.
void register_analytic_backbones();

}  // namespace vdlab
