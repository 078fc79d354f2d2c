#include "methods/backbone/analytic.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"
#include "methods/samplers/frame_plan.h"

namespace vdlab {

namespace {

ParamSpec schedule_param() {
  return {"schedule", Json{{"betas", "linear"}, {"beta_start", 0.0001}, {"beta_end", 0.02}, {"num_train_timesteps", 1000}},
          "training noise schedule the denoiser is exact for", {}, {}};
}

Json resolved_schedule(const Params& p) {
  return NoiseSchedule::from_config(p.at("schedule"), p.field("schedule")).to_config();
}

}  // namespace

DiffusersTestBackbone::DiffusersTestBackbone(int64_t channels, Json schedule)
    : channels_(channels), schedule_(std::move(schedule)) {}

torch::Tensor DiffusersTestBackbone::forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning&) {
  const at::Tensor tt = t.to(x.scalar_type()).reshape({t.size(0), 1, t.size(1), 1, 1});
  return x * tt / (tt + 1);
}

Json DiffusersTestBackbone::describe() const {
  return {{"name", "diffusers-test"}, {"channels", channels_}, {"schedule", schedule_}};
}

GaussianMixtureBackbone::GaussianMixtureBackbone(GaussianMixtureSpec spec) : spec_(std::move(spec)) {
  table_ = NoiseSchedule::from_config(spec_.schedule);
  sigmas_ = sigma_table(table_);
  spec_.means = spec_.means.to(at::kDouble).contiguous();
  if (spec_.means.dim() != 5 || spec_.means.size(0) != static_cast<int64_t>(spec_.weights.size()))
    throw Error("gaussian-mixture: means must be [K, C, F, H, W] with one weight per component");
}

at::Tensor GaussianMixtureBackbone::frame_covariance(int64_t frames) const {
  at::Tensor idx = at::arange(frames, at::kDouble);
  at::Tensor lag = (idx.unsqueeze(0) - idx.unsqueeze(1)).abs();
  const double var = spec_.component_std * spec_.component_std;
  if (spec_.frame_rho == 0.0) return at::eye(frames, at::kDouble) * var;
  return at::pow(spec_.frame_rho, lag) * var;
}

at::Tensor GaussianMixtureBackbone::posterior_mean(const at::Tensor& x_in, const at::Tensor& t_in) const {
  const at::Tensor x = x_in.to(at::kDouble);
  const int64_t B = x.size(0), C = x.size(1), F = x.size(2), H = x.size(3), W = x.size(4);
  const int64_t K = spec_.means.size(0);
  at::Tensor mu = spec_.means;
  if (mu.size(1) == 1 && mu.size(2) == 1 && mu.size(3) == 1 && mu.size(4) == 1) {
    mu = mu.expand({K, C, F, H, W});
  } else if (mu.size(1) != C || mu.size(2) != F || mu.size(3) != H || mu.size(4) != W) {
    throw Error("gaussian-mixture: this denoiser was built for videos of shape " +
                std::to_string(mu.size(1)) + "x" + std::to_string(mu.size(2)) + "x" + std::to_string(mu.size(3)) +
                "x" + std::to_string(mu.size(4)) + " (C x F x H x W)");
  }
  // Per (video, frame) alpha and sigma from the timestep, reading fractional timesteps as samplers do.
  at::Tensor t = t_in.to(at::kCPU).to(at::kDouble).contiguous();
  std::vector<double> a(static_cast<size_t>(B * F)), s(static_cast<size_t>(B * F));
  const double* tp = t.data_ptr<double>();
  for (int64_t k = 0; k < B * F; ++k) {
    const double ve = interpolate(sigmas_, tp[k]);
    a[static_cast<size_t>(k)] = vp_alpha(ve);
    s[static_cast<size_t>(k)] = vp_sigma(ve);
  }
  const at::Tensor alpha = at::tensor(a, at::kDouble).reshape({B, F});
  const at::Tensor sigma = at::tensor(s, at::kDouble).reshape({B, F});
  const at::Tensor Kf = frame_covariance(F);  // [F, F]
  // C_b = A K A + S^2 and the gain G_b = K A C_b^-1, both [B, F, F].
  const at::Tensor AKA = alpha.unsqueeze(2) * Kf.unsqueeze(0) * alpha.unsqueeze(1);
  const at::Tensor Cov = AKA + at::diag_embed(sigma * sigma);
  const at::Tensor Cinv = at::linalg_inv(Cov);
  const at::Tensor gain = at::matmul(Kf.unsqueeze(0) * alpha.unsqueeze(1), Cinv);
  // Videos as [B, P, F] rows of frames, P = C H W; means as [K, P, F].
  const at::Tensor xr = x.permute({0, 1, 3, 4, 2}).reshape({B, 1, C * H * W, F});
  const at::Tensor mr = mu.permute({0, 1, 3, 4, 2}).reshape({1, K, C * H * W, F});
  const at::Tensor r = xr - mr * alpha.reshape({B, 1, 1, F});  // [B, K, P, F]
  const at::Tensor x0k = mr + at::matmul(r, gain.transpose(1, 2).unsqueeze(1));  // [B, K, P, F]
  at::Tensor x0;
  if (K == 1) {
    x0 = x0k.select(1, 0);
  } else {
    const at::Tensor quad = (at::matmul(r, Cinv.unsqueeze(1)) * r).sum({2, 3});  // [B, K]
    const at::Tensor logw = at::log(at::tensor(spec_.weights, at::kDouble)).unsqueeze(0);
    const at::Tensor resp = at::softmax(logw - 0.5 * quad, 1);  // [B, K]
    x0 = (x0k * resp.reshape({B, K, 1, 1})).sum(1);
  }
  return x0.reshape({B, C, H, W, F}).permute({0, 1, 4, 2, 3}).contiguous();
}

torch::Tensor GaussianMixtureBackbone::forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning&) {
  const at::Tensor x0 = posterior_mean(x, t);
  if (spec_.prediction == Prediction::x0) return x0.to(x.scalar_type());
  const int64_t B = x.size(0), F = x.size(2);
  at::Tensor tt = t.to(at::kCPU).to(at::kDouble).contiguous();
  std::vector<double> a(static_cast<size_t>(B * F)), s(static_cast<size_t>(B * F));
  for (int64_t k = 0; k < B * F; ++k) {
    const double ve = interpolate(sigmas_, tt.data_ptr<double>()[k]);
    a[static_cast<size_t>(k)] = vp_alpha(ve);
    s[static_cast<size_t>(k)] = vp_sigma(ve);
  }
  const at::Tensor alpha = at::tensor(a, at::kDouble).reshape({B, 1, F, 1, 1});
  const at::Tensor sigma = at::tensor(s, at::kDouble).reshape({B, 1, F, 1, 1});
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor eps = (xd - alpha * x0) / sigma;
  if (spec_.prediction == Prediction::eps) return eps.to(x.scalar_type());
  return (alpha * eps - sigma * x0).to(x.scalar_type());  // v
}

at::Tensor GaussianMixtureBackbone::sample_data(int64_t n, at::IntArrayRef shape, at::Generator& gen) const {
  const int64_t C = shape[0], F = shape[1], H = shape[2], W = shape[3];
  const int64_t K = spec_.means.size(0);
  // Component choice, then AR(1)-correlated frames around the component mean.
  at::Tensor u = at::rand({n}, gen, at::kDouble);
  at::Tensor cum = at::cumsum(at::tensor(spec_.weights, at::kDouble), 0);
  cum = cum / cum[-1];
  at::Tensor comp = at::searchsorted(cum, u).clamp_max(K - 1);
  at::Tensor mu = spec_.means.expand({K, C, F, H, W}).index_select(0, comp);
  at::Tensor L = at::linalg_cholesky(frame_covariance(F));  // [F, F]
  at::Tensor z = at::randn({n, C, H, W, F}, gen, at::kDouble);
  at::Tensor dev = at::matmul(z, L.transpose(0, 1)).permute({0, 1, 4, 2, 3});
  return mu + dev;
}

namespace {
// The fields "gaussian" and "gaussian-mixture" share, read and checked once.
GaussianMixtureSpec gaussian_common(const Params& p, const std::string& name) {
  GaussianMixtureSpec s;
  s.channels = p.get<int64_t>("channels");
  s.frame_rho = p.get<double>("frame_rho");
  s.component_std = p.get<double>("std");
  s.prediction = parse_prediction(p.get<std::string>("prediction"), p.field("prediction"));
  s.schedule = resolved_schedule(p);
  if (!(s.component_std > 0)) p.fail("std", "must be positive");
  if (s.frame_rho < 0 || s.frame_rho >= 1) p.fail("frame_rho", "must lie in [0, 1)");
  s.config = p.json();
  s.config["name"] = name;
  return s;
}
}  // namespace

void register_analytic_backbones() {
  static bool done = false;
  if (done) return;
  done = true;
  BackboneRegistry& r = backbone_registry();
  r.add({"diffusers-test", "diffusers' scheduler-test model eps = x t / (t + 1) (no training)",
         {{"channels", 3, "channels of the sample", {}, {}}, schedule_param()},
         [](const Params& p) -> BackboneBuilder {
           const int64_t channels = p.get<int64_t>("channels");
           const Json schedule = resolved_schedule(p);
           return [=](const BackboneContext&) -> BackbonePtr {
             return std::make_shared<DiffusersTestBackbone>(channels, schedule);
           };
         }});
  const ParamSpecs gauss_common = {
      {"channels", 3, "channels of the data", {}, {}},
      {"frame_rho", 0.9, "correlation of consecutive frames (AR(1) across frames)", {}, {}},
      {"std", 0.3, "per-element standard deviation (within a component)", {}, {}},
      {"prediction", "eps", "what the denoiser returns", {"eps", "v", "x0"}, {}},
      schedule_param(),
  };
  ParamSpecs gauss = gauss_common;
  gauss.push_back({"mean", 0.0, "mean of every element", {}, {}});
  r.add({"gaussian", "exact denoiser for Gaussian video data correlated across frames (no training)", gauss,
         [](const Params& p) -> BackboneBuilder {
           GaussianMixtureSpec s = gaussian_common(p, "gaussian");
           s.means = at::full({1, 1, 1, 1, 1}, p.get<double>("mean"), at::kDouble);
           s.weights = {1.0};
           return [s](const BackboneContext&) -> BackbonePtr { return std::make_shared<GaussianMixtureBackbone>(s); };
         }});
  ParamSpecs mix = gauss_common;
  mix.push_back({"components", 4, "mixture components K (equal weights)", {}, {}});
  mix.push_back({"mean_std", 0.6, "standard deviation of the random component means", {}, {}});
  mix.push_back({"frames", 8, "frames of the data videos", {}, {}});
  mix.push_back({"height", 8, "height of the data videos", {}, {}});
  mix.push_back({"width", 8, "width of the data videos", {}, {}});
  mix.push_back({"seed", 0, "seed of the component means", {}, {}});
  r.add({"gaussian-mixture", "exact denoiser for a Gaussian mixture of videos correlated across frames (no training)", mix,
         [](const Params& p) -> BackboneBuilder {
           GaussianMixtureSpec s = gaussian_common(p, "gaussian-mixture");
           const int64_t k = p.get<int64_t>("components");
           if (k < 1) p.fail("components", "must be at least 1");
           // Means fixed by the seed: smooth in time (a shared AR(1) draw) so components look like videos.
           at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(p.get<uint64_t>("seed"));
           const int64_t F = p.get<int64_t>("frames");
           at::Tensor xi = at::randn({k, s.channels, F, p.get<int64_t>("height"), p.get<int64_t>("width")}, gen, at::kDouble);
           at::Tensor mu = at::empty_like(xi);
           mu.select(2, 0).copy_(xi.select(2, 0));
           const double rho = s.frame_rho, inn = std::sqrt(1 - rho * rho);
           for (int64_t f = 1; f < F; ++f) mu.select(2, f).copy_(mu.select(2, f - 1) * rho + xi.select(2, f) * inn);
           s.means = mu * p.get<double>("mean_std");
           s.weights.assign(static_cast<size_t>(k), 1.0 / static_cast<double>(k));
           return [s](const BackboneContext&) -> BackbonePtr { return std::make_shared<GaussianMixtureBackbone>(s); };
         }});
}

}  // namespace vdlab
