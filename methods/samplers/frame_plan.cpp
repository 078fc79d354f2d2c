#include "methods/samplers/frame_plan.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace vdlab {

namespace {

// numpy.linspace(start, stop, n) in double: i * step + start, the last point exactly stop.
std::vector<double> np_linspace(double start, double stop, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  const double step = n > 1 ? (stop - start) / static_cast<double>(n - 1) : 0.0;
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<double>(i) * step + start;
  if (n > 1) out.back() = stop;
  return out;
}

// numpy.arange(start, stop, step) with a float step: the length is ceil((stop - start) / step) and the
// values start + i * delta with delta = (start + step) - start, as numpy fills them.
std::vector<double> np_arange(double start, double stop, double step) {
  const int64_t n = static_cast<int64_t>(std::ceil((stop - start) / step));
  std::vector<double> out;
  if (n <= 0) return out;
  const double delta = (start + step) - start;
  for (int64_t i = 0; i < n; ++i) out.push_back(start + static_cast<double>(i) * delta);
  return out;
}

double round_half_even(double v) { return std::nearbyint(v); }

void check_spacing(const std::string& spacing) {
  if (spacing != "linspace" && spacing != "leading" && spacing != "trailing")
    throw ConfigError("spacing: unknown timestep spacing '" + spacing + "' (linspace, leading, trailing)");
}

void check_steps(int64_t num_train, int64_t steps) {
  if (steps < 1 || steps > num_train)
    throw ConfigError("steps: must lie in [1, " + std::to_string(num_train) + "], got " + std::to_string(steps));
}

// d[i] = c[0] s[0][i] + c[1] s[1][i] + ... for one row, every product rounded and added left to right.
// Specialised on the term count so the sum stays in registers: one pass over memory, vectorised.
template <size_t N, typename T>
inline __attribute__((always_inline)) void combine_row_fixed(T* __restrict d, const T* const* s, const T* c,
                                                             int64_t inner) {
  const T* __restrict p[N];
  T w[N];
  for (size_t j = 0; j < N; ++j) {
    p[j] = s[j];
    w[j] = c[j];
  }
  for (int64_t i = 0; i < inner; ++i) {
    T acc = w[0] * p[0][i];
    for (size_t j = 1; j < N; ++j) acc = acc + w[j] * p[j][i];
    d[i] = acc;
  }
}

// The row loop compiled for AVX-512, AVX2 and baseline x86-64, picked at load time. The same IEEE
// operations in the same order on each (this file is compiled without FMA contraction): bitwise equal.
template <typename T>
__attribute__((target_clones("avx512f", "avx2", "default"))) void combine_row_wide(T* d, const T* const* s,
                                                                                    const T* c, size_t n,
                                                                                    int64_t inner) {
  switch (n) {
    case 2: return combine_row_fixed<2>(d, s, c, inner);
    case 3: return combine_row_fixed<3>(d, s, c, inner);
    case 4: return combine_row_fixed<4>(d, s, c, inner);
    default: return combine_row_fixed<5>(d, s, c, inner);
  }
}

template <typename T>
void combine_row(T* d, const T* const* s, const T* c, size_t n, int64_t inner) {
  if (n >= 2 && n <= 5) return combine_row_wide(d, s, c, n, inner);
  if (n == 1) return combine_row_fixed<1>(d, s, c, inner);
  for (int64_t i = 0; i < inner; ++i) d[i] = c[0] * s[0][i];
  for (size_t j = 1; j < n; ++j)
    for (int64_t i = 0; i < inner; ++i) d[i] = d[i] + c[j] * s[j][i];
}

}  // namespace

std::vector<double> multistep_timesteps(int64_t T, int64_t n, const std::string& spacing, int64_t offset) {
  check_spacing(spacing);
  check_steps(T, n);
  std::vector<double> out;
  if (spacing == "linspace") {
    std::vector<double> pts = np_linspace(0.0, static_cast<double>(T - 1), n + 1);
    for (int64_t i = n; i >= 1; --i) out.push_back(round_half_even(pts[static_cast<size_t>(i)]));
  } else if (spacing == "leading") {
    const int64_t ratio = T / (n + 1);
    for (int64_t i = n; i >= 1; --i) out.push_back(static_cast<double>(i * ratio + offset));
  } else {
    for (double v : np_arange(static_cast<double>(T), 0.0, -static_cast<double>(T) / static_cast<double>(n)))
      out.push_back(round_half_even(v) - 1.0);
  }
  return out;
}

std::vector<double> ddim_timesteps(int64_t T, int64_t n, const std::string& spacing, int64_t offset) {
  check_spacing(spacing);
  check_steps(T, n);
  std::vector<double> out;
  if (spacing == "linspace") {
    std::vector<double> pts = np_linspace(0.0, static_cast<double>(T - 1), n);
    for (int64_t i = n - 1; i >= 0; --i) out.push_back(round_half_even(pts[static_cast<size_t>(i)]));
  } else if (spacing == "leading") {
    const int64_t ratio = T / n;
    for (int64_t i = n - 1; i >= 0; --i) out.push_back(static_cast<double>(i * ratio + offset));
  } else {
    for (double v : np_arange(static_cast<double>(T), 0.0, -static_cast<double>(T) / static_cast<double>(n)))
      out.push_back(round_half_even(v) - 1.0);
  }
  return out;
}

std::vector<double> euler_timesteps(int64_t T, int64_t n, const std::string& spacing, int64_t offset) {
  check_spacing(spacing);
  check_steps(T, n);
  if (spacing != "linspace") return ddim_timesteps(T, n, spacing, offset);
  std::vector<double> pts = np_linspace(0.0, static_cast<double>(T - 1), n);
  std::vector<double> out;
  for (int64_t i = n - 1; i >= 0; --i)
    out.push_back(static_cast<double>(static_cast<float>(pts[static_cast<size_t>(i)])));
  return out;
}

std::vector<double> sigma_table(const NoiseSchedule& schedule) {
  std::vector<double> out(schedule.alphas_cumprod.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const double ac = schedule.alphas_cumprod[i];
    out[i] = std::sqrt((1.0 - ac) / ac);
  }
  return out;
}

double interpolate(const std::vector<double>& table, double t) {
  const double last = static_cast<double>(table.size() - 1);
  if (t <= 0.0) return table.front();
  if (t >= last) return table.back();
  const size_t j = static_cast<size_t>(std::floor(t));
  if (static_cast<double>(j) == t) return table[j];
  const double slope = table[j + 1] - table[j];  // the grid step is 1
  return slope * (t - static_cast<double>(j)) + table[j];
}

std::vector<double> karras_sigmas(double sigma_max, double sigma_min, int64_t n, double rho) {
  const std::vector<double> ramp = np_linspace(0.0, 1.0, n);
  const double lo = std::pow(sigma_min, 1.0 / rho), hi = std::pow(sigma_max, 1.0 / rho);
  std::vector<double> out;
  for (double r : ramp) out.push_back(std::pow(hi + r * (lo - hi), rho));
  return out;
}

double sigma_to_timestep(double sigma, const std::vector<double>& log_sigmas) {
  const double ls = std::log(std::max(sigma, 1e-10));
  // The last index whose log sigma lies at or below ls (the table ascends), as the reference finds it.
  int64_t count = 0, best = -1, best_idx = 0;
  for (size_t i = 0; i < log_sigmas.size(); ++i) {
    count += (ls - log_sigmas[i] >= 0) ? 1 : 0;
    if (count > best) {
      best = count;
      best_idx = static_cast<int64_t>(i);
    }
  }
  const int64_t low = std::min<int64_t>(best_idx, static_cast<int64_t>(log_sigmas.size()) - 2);
  const int64_t high = low + 1;
  const double lo = log_sigmas[static_cast<size_t>(low)], hi = log_sigmas[static_cast<size_t>(high)];
  double w = (lo - ls) / (lo - hi);
  w = std::min(std::max(w, 0.0), 1.0);
  return (1.0 - w) * static_cast<double>(low) + w * static_cast<double>(high);
}

KarrasSchedule multistep_karras_schedule(const NoiseSchedule& schedule, int64_t steps) {
  check_steps(schedule.num_train_timesteps, steps);
  const std::vector<double> table = sigma_table(schedule);
  std::vector<double> log_sigmas;
  for (double v : table) log_sigmas.push_back(std::log(v));
  KarrasSchedule out;
  out.sigmas = karras_sigmas(table.back(), table.front(), steps);
  const bool cosine = schedule.betas_kind == "squaredcos_cap_v2";
  for (double s : out.sigmas) {
    const double t = sigma_to_timestep(s, log_sigmas);
    out.timesteps.push_back(cosine ? std::trunc(t) : round_half_even(t));
  }
  return out;
}

at::Tensor FramePlan::timestep_tensor(int64_t i, const at::Tensor& like) const {
  const std::vector<double>& given = timesteps.at(static_cast<size_t>(i));
  if (like.device().is_cpu() && (like.scalar_type() == at::kFloat || like.scalar_type() == at::kDouble)) {
    // Written in place: a copy that converts 16 values through LibTorch cost about as much as a DDIM
    // step's arithmetic. The same rounding (a static_cast) as that copy's.
    at::Tensor out = at::empty({batch, frames}, like.options());
    AT_DISPATCH_FLOATING_TYPES(like.scalar_type(), "timestep_tensor", [&] {
      scalar_t* p = out.data_ptr<scalar_t>();
      for (size_t k = 0; k < given.size(); ++k) p[k] = pinned[k] ? scalar_t(0) : static_cast<scalar_t>(given[k]);
    });
    return out;
  }
  std::vector<double> t = given;
  for (size_t k = 0; k < t.size(); ++k)
    if (pinned[k]) t[k] = 0.0;
  return at::from_blob(t.data(), {batch, frames}, at::TensorOptions().dtype(at::kDouble))
      .to(like.options(), /*non_blocking=*/false, /*copy=*/true);
}

at::Tensor FramePlan::frame_values(const std::vector<double>& values, const at::Tensor& like) const {
  return at::from_blob(const_cast<double*>(values.data()), {batch, 1, frames, 1, 1},
                       at::TensorOptions().dtype(at::kDouble))
      .to(like.options(), /*non_blocking=*/false, /*copy=*/true);
}

std::vector<at::Tensor> FramePlan::frame_values_many(const std::vector<const std::vector<double>*>& values,
                                                const at::Tensor& like) const {
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<double> packed;
  packed.reserve(static_cast<size_t>(n * size()));
  for (const auto* v : values) packed.insert(packed.end(), v->begin(), v->end());
  const at::Tensor all = at::from_blob(packed.data(), {n, size()}, at::TensorOptions().dtype(at::kDouble))
                             .to(like.options(), /*non_blocking=*/false, /*copy=*/true);
  std::vector<at::Tensor> out;
  for (int64_t j = 0; j < n; ++j) out.push_back(all.select(0, j).view({batch, 1, frames, 1, 1}));
  return out;
}

namespace {

// Whether the row loop applies: contiguous CPU terms of one dtype and shape, a coefficient vector each.
bool one_pass_applies(const std::vector<const at::Tensor*>& terms, const std::vector<const std::vector<double>*>& coefs) {
  const at::Tensor& first = *terms.at(0);
  bool fast = first.device().is_cpu() && terms.size() == coefs.size();
  for (const at::Tensor* t : terms)
    fast = fast && t->is_contiguous() && t->scalar_type() == first.scalar_type() && t->sizes().equals(first.sizes());
  return fast;
}

// Row r's pointer into each term and its coefficient for the row's frame k.
template <typename T>
inline void gather_row(const std::vector<const T*>& src, const std::vector<const std::vector<double>*>& coefs,
                       int64_t r, int64_t inner, size_t k, std::vector<const T*>& row, std::vector<T>& c) {
  for (size_t j = 0; j < src.size(); ++j) {
    row[j] = src[j] + r * inner;
    c[j] = static_cast<T>((*coefs[j])[k]);
  }
}

}  // namespace

at::Tensor FramePlan::combine(const std::vector<const at::Tensor*>& terms,
                              const std::vector<const std::vector<double>*>& coefs) const {
  const at::Tensor& first = *terms.at(0);
  if (!one_pass_applies(terms, coefs)) {  // any device or layout: the same sum as tensor operations
    at::Tensor out = first * frame_values(*coefs[0], first);
    for (size_t j = 1; j < terms.size(); ++j) out.addcmul_(*terms[j], frame_values(*coefs[j], first));
    return out;
  }
  at::Tensor out = at::empty_like(first, at::MemoryFormat::Contiguous);
  const int64_t channels = first.size(1), inner = first.size(3) * first.size(4);
  const int64_t rows = batch * channels * frames;  // one row = the H x W plane of (b, c, f)
  AT_DISPATCH_FLOATING_TYPES(first.scalar_type(), "frame_combine", [&] {
    std::vector<const scalar_t*> src;
    for (const at::Tensor* t : terms) src.push_back(t->data_ptr<scalar_t>());
    scalar_t* dst = out.data_ptr<scalar_t>();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1));
    at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      std::vector<const scalar_t*> row(src.size());
      std::vector<scalar_t> c(src.size());
      for (int64_t r = begin; r < end; ++r) {
        gather_row(src, coefs, r, inner, frame_of_row(r, channels), row, c);
        combine_row(dst + r * inner, row.data(), c.data(), src.size(), inner);
      }
    });
  });
  return out;
}

std::pair<at::Tensor, at::Tensor> FramePlan::combine_twice(const std::vector<const at::Tensor*>& terms,
                                                           const std::vector<const std::vector<double>*>& coefs,
                                                           const std::vector<size_t>& then_terms,
                                                           const std::vector<const std::vector<double>*>& then_coefs) const {
  if (then_coefs.size() != then_terms.size() + 1) throw Error("combine_twice: one coefficient per term of the second");
  for (size_t j : then_terms)
    if (j >= terms.size()) throw Error("combine_twice: the second combination names a term the first lacks");
  const at::Tensor& lead = *terms.at(0);
  if (!one_pass_applies(terms, coefs)) {
    at::Tensor first = combine(terms, coefs);
    std::vector<const at::Tensor*> second_terms = {&first};
    for (size_t j : then_terms) second_terms.push_back(terms[j]);
    at::Tensor second = combine(second_terms, then_coefs);
    return {first, second};
  }
  at::Tensor first = at::empty_like(lead, at::MemoryFormat::Contiguous);
  at::Tensor second = at::empty_like(lead, at::MemoryFormat::Contiguous);
  const int64_t channels = lead.size(1), inner = lead.size(3) * lead.size(4);
  const int64_t rows = batch * channels * frames;
  AT_DISPATCH_FLOATING_TYPES(lead.scalar_type(), "frame_combine_twice", [&] {
    std::vector<const scalar_t*> src;
    for (const at::Tensor* t : terms) src.push_back(t->data_ptr<scalar_t>());
    scalar_t* d1 = first.data_ptr<scalar_t>();
    scalar_t* d2 = second.data_ptr<scalar_t>();
    std::vector<const scalar_t*> row(src.size()), row2(then_terms.size() + 1);
    std::vector<scalar_t> c(src.size()), c2(then_terms.size() + 1);
    for (int64_t r = 0; r < rows; ++r) {
      const size_t k = frame_of_row(r, channels);
      gather_row(src, coefs, r, inner, k, row, c);
      combine_row(d1 + r * inner, row.data(), c.data(), src.size(), inner);
      row2[0] = d1 + r * inner;
      c2[0] = static_cast<scalar_t>((*then_coefs[0])[k]);
      for (size_t j = 0; j < then_terms.size(); ++j) {
        row2[j + 1] = row[then_terms[j]];
        c2[j + 1] = static_cast<scalar_t>((*then_coefs[j + 1])[k]);
      }
      combine_row(d2 + r * inner, row2.data(), c2.data(), row2.size(), inner);
    }
  });
  return {first, second};
}

at::Tensor FramePlan::restore_pinned(const at::Tensor& given, const at::Tensor& x) const {
  if (!any_pinned) return x;
  std::vector<double> mask(pinned.begin(), pinned.end());
  at::Tensor m = at::from_blob(mask.data(), {batch, 1, frames, 1, 1}, at::TensorOptions().dtype(at::kDouble))
                     .to(at::TensorOptions().dtype(at::kBool).device(x.device()));
  return at::where(m, given, x);
}

at::Tensor FramePlan::restore_held(int64_t i, const at::Tensor& before, const at::Tensor& x) const {
  if (!any_held) return x;
  const auto& h = held[static_cast<size_t>(i)];
  if (std::find(h.begin(), h.end(), 1) == h.end()) return x;
  std::vector<double> mask(h.begin(), h.end());
  at::Tensor m = at::from_blob(mask.data(), {batch, 1, frames, 1, 1}, at::TensorOptions().dtype(at::kDouble))
                     .to(at::TensorOptions().dtype(at::kBool).device(x.device()));
  return at::where(m, before, x);
}

namespace {

// The context's range of steps, checked against the plan's N.
void set_range(FramePlan& plan, const SampleContext& ctx, const std::string& sampler) {
  const int64_t n = plan.steps();
  plan.start = ctx.start_step;
  plan.stop = ctx.stop_step < 0 ? n : ctx.stop_step;
  if (plan.start < 0 || plan.start > plan.stop || plan.stop > n)
    throw ConfigError(sampler + ": steps to run [" + std::to_string(plan.start) + ", " + std::to_string(plan.stop) +
                      ") do not lie within the " + std::to_string(n) + " steps of the schedule");
}

// An unpinned frame's timesteps must not increase; equal ones mark the step held for that frame.
void check_and_mark_held(FramePlan& plan, const std::string& sampler, double final_timestep) {
  const size_t n = static_cast<size_t>(plan.steps()), nf = static_cast<size_t>(plan.size());
  plan.held.assign(n, std::vector<uint8_t>(nf, 0));
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < nf; ++k) {
      if (plan.pinned[k]) continue;
      const double t = plan.timesteps[i][k];
      const double next = i + 1 < n ? plan.timesteps[i + 1][k] : final_timestep;
      if (i + 1 < n && next > t)
        throw ConfigError(sampler + ": per-frame timesteps of video " + std::to_string(k / plan.frames) + ", frame " +
                          std::to_string(k % plan.frames) + " increase at step " + std::to_string(i + 1) + " (" +
                          std::to_string(t) + " -> " + std::to_string(next) + "); an unpinned frame's timesteps "
                          "must not increase");
      if (next == t) {
        plan.held[i][k] = 1;
        plan.any_held = true;
      }
    }
}

}  // namespace

FramePlan make_frame_plan(const std::vector<double>& timesteps, const SampleContext& ctx, const at::Tensor& x,
                          const std::string& sampler, double final_timestep) {
  if (x.dim() != 5) throw Error(sampler + ": expected a [B, C, F, H, W] sample, got " + std::to_string(x.dim()) + " dims");
  FramePlan plan;
  plan.batch = x.size(0);
  plan.frames = x.size(2);
  const size_t n = static_cast<size_t>(plan.size());
  plan.pinned.assign(n, 0);
  if (ctx.pinned.defined()) {
    if (ctx.pinned.dim() != 2 || ctx.pinned.size(0) != plan.batch || ctx.pinned.size(1) != plan.frames)
      throw ConfigError(sampler + ": pinned frames must be a [B, F] = [" + std::to_string(plan.batch) + ", " +
                        std::to_string(plan.frames) + "] mask");
    at::Tensor p = ctx.pinned.to(at::kCPU).to(at::kBool).contiguous();
    const bool* pp = p.data_ptr<bool>();
    for (size_t k = 0; k < n; ++k) {
      plan.pinned[k] = pp[k] ? 1 : 0;
      plan.any_pinned = plan.any_pinned || pp[k];
    }
  }
  if (!ctx.frame_timesteps.defined()) {
    for (double t : timesteps) plan.timesteps.emplace_back(n, t);
    set_range(plan, ctx, sampler);
    return plan;
  }
  const at::Tensor& ft = ctx.frame_timesteps;
  if (ft.dim() != 3 || ft.size(0) != static_cast<int64_t>(timesteps.size()) || ft.size(1) != plan.batch ||
      ft.size(2) != plan.frames)
    throw ConfigError(sampler + ": per-frame timesteps must be [steps, B, F] = [" + std::to_string(timesteps.size()) +
                      ", " + std::to_string(plan.batch) + ", " + std::to_string(plan.frames) + "]");
  at::Tensor t = ft.to(at::kCPU).to(at::kDouble).contiguous();
  const double* tp = t.data_ptr<double>();
  for (int64_t i = 0; i < ft.size(0); ++i) plan.timesteps.emplace_back(tp + i * static_cast<int64_t>(n), tp + (i + 1) * static_cast<int64_t>(n));
  check_and_mark_held(plan, sampler, final_timestep);
  set_range(plan, ctx, sampler);
  return plan;
}

std::vector<double> solve_linear(std::vector<double> a, std::vector<double> b, int64_t n) {
  auto at2 = [&](int64_t r, int64_t c) -> double& { return a[static_cast<size_t>(r * n + c)]; };
  for (int64_t col = 0; col < n; ++col) {
    int64_t piv = col;
    for (int64_t r = col + 1; r < n; ++r)
      if (std::abs(at2(r, col)) > std::abs(at2(piv, col))) piv = r;
    if (piv != col) {
      for (int64_t c = 0; c < n; ++c) std::swap(at2(col, c), at2(piv, c));
      std::swap(b[static_cast<size_t>(col)], b[static_cast<size_t>(piv)]);
    }
    for (int64_t r = col + 1; r < n; ++r) {
      const double f = at2(r, col) / at2(col, col);
      for (int64_t c = col; c < n; ++c) at2(r, c) -= f * at2(col, c);
      b[static_cast<size_t>(r)] -= f * b[static_cast<size_t>(col)];
    }
  }
  std::vector<double> x(static_cast<size_t>(n));
  for (int64_t r = n - 1; r >= 0; --r) {
    double s = b[static_cast<size_t>(r)];
    for (int64_t c = r + 1; c < n; ++c) s -= at2(r, c) * x[static_cast<size_t>(c)];
    x[static_cast<size_t>(r)] = s / at2(r, r);
  }
  return x;
}

std::vector<std::vector<double>> frame_sigmas(const FramePlan& plan, const NoiseSchedule& schedule,
                                              const std::string& final_sigma, const std::vector<double>* step_sigmas) {
  const std::vector<double> table = sigma_table(schedule);
  const auto n = static_cast<size_t>(plan.steps());
  const auto nf = static_cast<size_t>(plan.size());
  if (step_sigmas && step_sigmas->size() != n)
    throw Error("frame_sigmas: " + std::to_string(step_sigmas->size()) + " step sigmas for " + std::to_string(n) + " steps");
  std::vector<std::vector<double>> sig(n + 1, std::vector<double>(nf));
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < nf; ++k) sig[i][k] = step_sigmas ? (*step_sigmas)[i] : interpolate(table, plan.timesteps[i][k]);
  for (size_t k = 0; k < nf; ++k) sig[n][k] = final_sigma == "zero" ? 0.0 : table[0];
  return sig;
}

}  // namespace vdlab
