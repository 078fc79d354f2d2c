#include "methods/noise/ddim_inversion.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "methods/samplers/frame_plan.h"
#include "methods/samplers/model_output.h"

namespace vdlab {

double alpha_bar_at(const NoiseSchedule& schedule, double t) {
  if (t < 0) return 1.0;
  if (t > static_cast<double>(schedule.num_train_timesteps - 1))
    throw ConfigError("ddim-inversion: timesteps must lie in [0, T), got " + std::to_string(t));
  if (t == std::floor(t)) return schedule.alphas_cumprod[static_cast<size_t>(t)];
  const double sg = interpolate(sigma_table(schedule), t);
  return 1.0 / (1.0 + sg * sg);
}

InversionResult ddim_invert(const Denoise& denoise, const at::Tensor& clean, const NoiseSchedule& schedule,
                            const std::vector<double>& timesteps, Prediction prediction, int64_t refine) {
  if (clean.dim() != 5) throw ConfigError("ddim-inversion: expected clips [B, C, F, H, W]");
  if (refine < 0) throw ConfigError("ddim-inversion: refine must not be negative");
  std::vector<double> up(timesteps);
  std::sort(up.begin(), up.end());
  InversionResult r;
  at::Tensor x = clean;
  double ab_prev = 1.0;  // the clean clip
  for (double t : up) {
    const double ab = alpha_bar_at(schedule, t);
    const double a = std::sqrt(ab), s = std::sqrt(1.0 - ab), a_prev = std::sqrt(ab_prev), s_prev = std::sqrt(1.0 - ab_prev);
    const at::Tensor tt = at::full({x.size(0), x.size(2)}, t, x.options());
    auto eps_at = [&](const at::Tensor& sample) {
      ++r.model_calls;
      const at::Tensor out = denoise(sample, tt);
      return predict_eps(out, sample, at::scalar_tensor(a, x.options()), at::scalar_tensor(s, x.options()), prediction);
    };
    // diffusers' step: the model at the target timestep on the current sample.
    const at::Tensor eps = eps_at(x);
    const at::Tensor x0 = (x - s_prev * eps) / a_prev;
    at::Tensor next = a * x0 + s * eps;
    // Fixed-point iterations towards the exact inverse of the DDIM step tau_k -> tau_{k-1}.
    const double c = s_prev - a_prev * s / a;
    for (int64_t j = 0; j < refine; ++j) next = (a / a_prev) * (x - c * eps_at(next));
    x = next;
    ab_prev = ab;
  }
  r.latent = x;
  return r;
}

at::Tensor DdimInversionNoise::draw(at::IntArrayRef, at::Generator&, const at::TensorOptions&) const {
  throw ConfigError(
      "noise ddim-inversion inverts each video's source clip on the backbone: use it with a method that passes them "
      "(vmc); other methods take iid, ar1 or mixed");
}

}  // namespace vdlab
