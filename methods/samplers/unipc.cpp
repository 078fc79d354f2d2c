// UniPC (Zhao et al. 2023): the UniP-p predictor with the UniC-p corrector, variants bh1 and bh2, in
// data or noise prediction, as diffusers' UniPCMultistepScheduler computes it (METHODS.md 1.3).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "methods/samplers/model_output.h"
#include "methods/samplers/sampler.h"

namespace vdlab {

namespace {

// One frame's coefficients of x_to = xc x_from - mc m0 - sum_j w[j] (m_j - m0) [- wt (model_t - m0)].
struct UniCoefficients {
  double xc = 0, mc = 0, wt = 0;
  std::vector<double> w;
};

// A step from VE sigma s_from to s_to; s_hist[k-1] is the sigma of history entry m_k (k = 1..p-1).
UniCoefficients uni_coefficients(double s_to, double s_from, const std::vector<double>& s_hist, int64_t p,
                                 bool corrector, bool predict_x0, bool bh1) {
  const double l_to = log_snr(s_to), l_from = log_snr(s_from);
  const double h = l_to - l_from;
  std::vector<double> rks;
  for (double s : s_hist) rks.push_back((log_snr(s) - l_from) / h);
  rks.push_back(1.0);
  const double hh = predict_x0 ? -h : h;
  const double hphi1 = std::expm1(hh);
  const double bh = bh1 ? hh : std::expm1(hh);
  // R[j][c] = rks[c]^j and b[j] = hphi_{j+1} (j+1)! / B(h), as the reference builds them.
  std::vector<double> R(static_cast<size_t>(p * p)), b(static_cast<size_t>(p));
  double hphik = hphi1 / hh - 1.0, fact = 1.0;
  for (int64_t j = 1; j <= p; ++j) {
    for (int64_t c = 0; c < p; ++c)
      R[static_cast<size_t>((j - 1) * p + c)] = std::pow(rks[static_cast<size_t>(c)], static_cast<double>(j - 1));
    b[static_cast<size_t>(j - 1)] = hphik * fact / bh;
    fact *= static_cast<double>(j + 1);
    hphik = hphik / hh - 1.0 / fact;
  }
  const double a_to = vp_alpha(s_to), sg_to = vp_sigma(s_to);
  const double a_from = vp_alpha(s_from), sg_from = vp_sigma(s_from);
  UniCoefficients out;
  out.xc = predict_x0 ? sg_to / sg_from : a_to / a_from;
  const double lead = predict_x0 ? a_to : sg_to;
  out.mc = lead * hphi1;
  const double cb = lead * bh;
  std::vector<double> rhos;
  if (!corrector) {
    if (p == 2) {
      rhos = {0.5};  // the reference's fixed shortcut for UniP-2, kept on purpose
    } else if (p > 2) {
      std::vector<double> r2;
      for (int64_t j = 0; j < p - 1; ++j)
        for (int64_t c = 0; c < p - 1; ++c) r2.push_back(R[static_cast<size_t>(j * p + c)]);
      rhos = solve_linear(r2, std::vector<double>(b.begin(), b.end() - 1), p - 1);
    }
  } else {
    rhos = p == 1 ? std::vector<double>{0.5} : solve_linear(R, b, p);
    out.wt = cb * rhos.back();
  }
  for (int64_t j = 0; j < p - 1; ++j)
    out.w.push_back(cb * rhos[static_cast<size_t>(j)] / rks[static_cast<size_t>(j)]);
  return out;
}

struct UniPCOptions {
  CommonOptions common;
  int64_t order = 2;
  bool bh1 = false;
  bool predict_x0 = true;
  bool lower_order_final = true;
  bool corrector = true;
  std::vector<int64_t> disable_corrector;
  bool karras = false;
  Json resolved;
};

class UniPC : public Sampler {
 public:
  explicit UniPC(UniPCOptions o) : o_(std::move(o)) {}

  std::vector<double> timesteps(const NoiseSchedule& s) const override {
    if (o_.karras) return multistep_karras_schedule(s, o_.common.steps).timesteps;
    return multistep_timesteps(s.num_train_timesteps, o_.common.steps, o_.common.spacing, o_.common.steps_offset);
  }
  Json describe() const override { return o_.resolved; }

  at::Tensor sample(const Denoise& denoise, const at::Tensor& noise, const SampleContext& ctx,
                    SampleStats& stats) const override {
    if (o_.karras && ctx.frame_timesteps.defined())
      throw ConfigError("unipc: karras sigmas with per-frame timesteps are not defined; use karras: false");
    const KarrasSchedule karras = o_.karras ? multistep_karras_schedule(ctx.schedule, o_.common.steps) : KarrasSchedule{};
    const FramePlan plan = make_frame_plan(listed_timesteps(*this, ctx, o_.common.steps), ctx, noise, "unipc",
                                           final_timestep_of(o_.common.final_sigma));
    const int64_t n = plan.steps();
    const size_t nf = static_cast<size_t>(plan.size());
    // VE sigma of every point, per frame; point n is the final sigma.
    const std::vector<std::vector<double>> sig =
        frame_sigmas(plan, ctx.schedule, o_.common.final_sigma, o_.karras ? &karras.sigmas : nullptr);

    // A step from point `from` to `to` as x_to = xc x_from + sum_j c_j M_j over the history entries
    // (newest first: m0, m_1, ..., m_{p-1}) and, for the corrector, the new output last. Folding the
    // per-frame coefficients in double keeps the update to one multiply and p or p + 1 fused
    // multiply-adds over the sample (the sampler's cost per step is a budget: bench_sampler_overhead).
    auto coefficients = [&](int64_t to, int64_t from, const std::vector<int64_t>& hist, int64_t p, bool corr,
                            const at::Tensor&) {
      std::vector<double> xc(nf);
      std::vector<std::vector<double>> c(static_cast<size_t>(p + (corr ? 1 : 0)), std::vector<double>(nf));
      std::vector<double> s_hist(hist.size()), prev_key;
      for (size_t k = 0; k < nf; ++k) {
        for (size_t q = 0; q < hist.size(); ++q) s_hist[q] = sig[static_cast<size_t>(hist[q])][k];
        std::vector<double> key = s_hist;
        key.push_back(sig[static_cast<size_t>(to)][k]);
        key.push_back(sig[static_cast<size_t>(from)][k]);
        if (k > 0 && key == prev_key) {  // frames on one schedule share their coefficients
          xc[k] = xc[k - 1];
          for (auto& cj : c) cj[k] = cj[k - 1];
          continue;
        }
        prev_key = std::move(key);
        const double s_to = sig[static_cast<size_t>(to)][k], s_from = sig[static_cast<size_t>(from)][k];
        if (s_to == s_from) {  // a frame held through the step (h = 0): the identity, restored bitwise
          xc[k] = 1.0;
          for (auto& cj : c) cj[k] = 0.0;
          continue;
        }
        // A frame that held its timestep has history entries at its current sigma (r_k = 0): it steps
        // with the newest entries whose sigmas are distinct, at a lower order.
        std::vector<double> s_use;
        for (double sh : s_hist) {
          if (sh == s_from || std::find(s_use.begin(), s_use.end(), sh) != s_use.end()) break;
          s_use.push_back(sh);
        }
        const int64_t p_frame = static_cast<int64_t>(s_use.size()) + 1;
        for (auto& cj : c) cj[k] = 0.0;
        const UniCoefficients u = uni_coefficients(s_to, s_from, s_use, p_frame, corr, o_.predict_x0, o_.bh1);
        xc[k] = u.xc;
        // x - mc m0 - sum_j w_j (m_j - m0) - wt (m - m0)
        double c0 = -u.mc + u.wt;
        for (size_t j = 0; j < u.w.size(); ++j) {
          c0 += u.w[j];
          c[j + 1][k] = -u.w[j];
        }
        c[0][k] = c0;
        if (corr) c.back()[k] = -u.wt;
      }
      return std::make_pair(std::move(xc), std::move(c));
    };
    // Newest history entry first.
    auto entry = [](const std::vector<at::Tensor>& h, int64_t k) -> const at::Tensor& {
      return h[h.size() - 1 - static_cast<size_t>(k)];
    };

    StepDriver driver(denoise, ctx, stats, plan, noise);
    at::Tensor x = noise;
    at::Tensor last;
    std::vector<at::Tensor> history;  // converted outputs, oldest first, at most `order`
    int64_t this_order = 0, warm = 0;
    const at::Tensor zeros = o_.predict_x0 ? at::Tensor() : at::zeros_like(noise);
    for (int64_t i = plan.start; i < plan.stop; ++i) {
      const at::Tensor out = driver.denoise(x, i);
      // The conversion as one pass, m = cx x + co out, with per-frame coefficients in double.
      std::vector<double> cx(nf), co(nf);
      for (size_t k = 0; k < nf; ++k) {
        const double sk = sig[static_cast<size_t>(i)][k];
        const AffineConversion a = o_.predict_x0 ? x0_conversion(vp_alpha(sk), vp_sigma(sk), ctx.prediction)
                                                 : eps_conversion(vp_alpha(sk), vp_sigma(sk), ctx.prediction);
        cx[k] = a.x_coef;
        co[k] = a.out_coef;
      }
      at::Tensor m = plan.combine({&x, &out}, {&cx, &co});
      if (o_.predict_x0) {
        if (o_.common.thresholding) m = dynamic_threshold(m, o_.common.threshold_ratio, o_.common.sample_max);
        m = plan.restore_pinned(noise, m);  // a pinned frame's data prediction is the frame itself
      } else {
        m = plan.restore_pinned(zeros, m);
      }

      const bool disabled = std::find(o_.disable_corrector.begin(), o_.disable_corrector.end(), i - 1) !=
                            o_.disable_corrector.end();
      const bool correct = o_.corrector && i > 0 && !disabled && last.defined() && driver.corrector_next();
      const int64_t p = this_order;  // the order of the step being corrected
      this_order = o_.lower_order_final ? std::min(o_.order, n - i) : o_.order;
      this_order = std::min(this_order, warm + 1);
      // UniP-p from i to i + 1 reads the corrected sample and the history with m as its newest entry.
      std::vector<int64_t> next_hist;
      for (int64_t k = 1; k < this_order; ++k) next_hist.push_back(i - k);
      const auto [pxc, pc] = coefficients(i + 1, i, next_hist, this_order, false, x);
      at::Tensor predicted;
      if (correct) {
        // UniC-p: recompute the step from i - 1 to i with the new output m.
        std::vector<int64_t> hist;
        for (int64_t k = 1; k < p; ++k) hist.push_back(i - 1 - k);
        const auto [xc, c] = coefficients(i, i - 1, hist, p, true, x);
        std::vector<const at::Tensor*> terms = {&last};
        std::vector<const std::vector<double>*> coefs = {&xc};
        for (int64_t k = 0; k < p; ++k) {
          terms.push_back(&entry(history, k));
          coefs.push_back(&c[static_cast<size_t>(k)]);
        }
        terms.push_back(&m);
        coefs.push_back(&c.back());
        // Nothing between the two steps changes the corrected sample (no hooks, pinned or held frames):
        // the predictor runs in the corrector's pass over memory. Its terms are the corrector's: m
        // (last), then the older entries (1, 2, ...).
        const bool plain = (!ctx.hooks || ctx.hooks->empty()) && !plan.any_pinned && !plan.any_held &&
                           this_order - 1 <= p;
        if (plain) {
          std::vector<size_t> then_terms;
          std::vector<const std::vector<double>*> then_coefs = {&pxc};
          for (int64_t k = 0; k < this_order; ++k) {
            then_terms.push_back(k == 0 ? terms.size() - 1 : static_cast<size_t>(k));
            then_coefs.push_back(&pc[static_cast<size_t>(k)]);
          }
          auto [corrected, next] = plan.combine_twice(terms, coefs, then_terms, then_coefs);
          x = driver.after_corrector(corrected, x, i);
          if (x.is_same(corrected)) predicted = std::move(next);
        } else {
          x = driver.after_corrector(plan.combine(terms, coefs), x, i);
        }
      }
      history.push_back(m);
      if (static_cast<int64_t>(history.size()) > o_.order) history.erase(history.begin());
      last = x;
      if (!predicted.defined()) {
        std::vector<const at::Tensor*> terms = {&x};
        std::vector<const std::vector<double>*> coefs = {&pxc};
        for (int64_t k = 0; k < this_order; ++k) {
          terms.push_back(&entry(history, k));
          coefs.push_back(&pc[static_cast<size_t>(k)]);
        }
        predicted = plan.combine(terms, coefs);
      }
      x = driver.finish_step(predicted, i, &history);
      warm = std::min(warm + 1, o_.order);
    }
    return x;
  }

 private:
  UniPCOptions o_;
};

}  // namespace

void register_unipc(SamplerRegistry& registry) {
  ParamSpecs specs = CommonOptions::specs("linspace", "zero");
  specs.push_back({"order", 2, "solver order p of UniP-p / UniC-p (1 to 3)", {}, {}});
  specs.push_back({"variant", "bh2", "B(h): bh1 = h, bh2 = e^h - 1", {"bh1", "bh2"}, {}});
  specs.push_back({"predict_x0", true, "data prediction (true) or noise prediction (false)", {}, {}});
  specs.push_back({"lower_order_final", true, "lower the order over the last steps (min(order, steps left))", {}, {}});
  specs.push_back({"corrector", true, "run the UniC corrector after each step but the last", {}, {}});
  specs.push_back({"disable_corrector", Json::array(), "step indices whose result is not corrected", {}, {}});
  specs.push_back({"karras", false,
                   "Karras sigmas (rho 7) over the whole training range, timesteps rounded (diffusers' "
                   "use_karras_sigmas; spacing and steps_offset then play no part)", {}, {}});
  registry.add({"unipc", "UniPC multistep predictor-corrector (bh1/bh2, orders 1-3), as diffusers", specs,
                 [](const Params& p) -> SamplerPtr {
                   UniPCOptions o;
                   o.common = CommonOptions::from(p);
                   o.order = p.get<int64_t>("order");
                   o.bh1 = p.get<std::string>("variant") == "bh1";
                   o.predict_x0 = p.get<bool>("predict_x0");
                   o.lower_order_final = p.get<bool>("lower_order_final");
                   o.corrector = p.get<bool>("corrector");
                   o.disable_corrector = p.get<std::vector<int64_t>>("disable_corrector");
                   o.karras = p.get<bool>("karras");
                   if (o.order < 1 || o.order > 3) p.fail("order", "must be 1, 2 or 3, got " + std::to_string(o.order));
                   const bool zero = o.common.final_sigma == "zero";
                   // These combinations divide by lambda = inf at sigma 0: the reference returns NaN.
                   if (zero && o.bh1)
                     p.fail("variant", "bh1 with final_sigma zero is undefined (B(h) = h is infinite at sigma 0 and "
                                       "the reference returns NaN); use variant bh2 or final_sigma sigma_min");
                   if (zero && !o.predict_x0)
                     p.fail("predict_x0", "noise prediction with final_sigma zero is undefined (the reference "
                                          "returns NaN); use predict_x0 true or final_sigma sigma_min");
                   if (zero && !o.lower_order_final && o.order > 1)
                     p.fail("lower_order_final", "false with order > 1 and final_sigma zero is undefined (r_k = 0 "
                                                 "at sigma 0, the reference returns NaN); use lower_order_final true "
                                                 "or final_sigma sigma_min");
                   if (o.karras && !zero && !o.lower_order_final && o.order > 2)
                     p.fail("lower_order_final", "false with order 3, karras sigmas and final_sigma sigma_min is "
                                                 "undefined (the last step has h = 0; the reference returns NaN); use "
                                                 "lower_order_final true");
                   o.resolved = p.json();
                   o.resolved["name"] = "unipc";
                   return std::make_shared<UniPC>(std::move(o));
                 }});
}

}  // namespace vdlab
