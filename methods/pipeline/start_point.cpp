#include "methods/pipeline/start_point.h"

#include <ATen/ATen.h>

#include <string>

#include "core/error.h"
#include "methods/samplers/frame_plan.h"

namespace vdlab {

at::Tensor add_noise(const NoiseSchedule& schedule, const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) {
  if (x0.dim() != 5 || !x0.sizes().equals(noise.sizes()))
    throw Error("add_noise: x0 and noise must be [B, C, F, H, W] of one shape");
  if (t.dim() != 2 || t.size(0) != x0.size(0) || t.size(1) != x0.size(2))
    throw Error("add_noise: timesteps must be [B, F]");
  const std::vector<double> table = sigma_table(schedule);
  const at::Tensor tt = t.to(at::kCPU).to(at::kDouble).contiguous();
  const double* tp = tt.data_ptr<double>();
  std::vector<double> alpha(static_cast<size_t>(tt.numel())), sigma(alpha.size());
  for (size_t k = 0; k < alpha.size(); ++k) {
    const double s = interpolate(table, tp[k]);
    alpha[k] = vp_alpha(s);
    sigma[k] = vp_sigma(s);
  }
  const auto shape = std::vector<int64_t>{x0.size(0), 1, x0.size(2), 1, 1};
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor a = at::from_blob(alpha.data(), shape, opts).to(x0.options(), false, true);
  const at::Tensor s = at::from_blob(sigma.data(), shape, opts).to(x0.options(), false, true);
  return a * x0 + s * noise;
}

int64_t start_step_at(const std::vector<double>& timesteps, double t) {
  for (size_t i = 0; i < timesteps.size(); ++i)
    if (timesteps[i] <= t) return static_cast<int64_t>(i);
  throw ConfigError("start timestep " + std::to_string(t) + " lies below every step's timestep (the last is " +
                    (timesteps.empty() ? std::string("none") : std::to_string(timesteps.back())) + ")");
}

}  // namespace vdlab
