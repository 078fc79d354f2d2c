#include "methods/training/fused_updates.h"

#include <ATen/Parallel.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace vdlab {

namespace {

// Elements per unit of work: chunks are cut the same way whatever the thread count, so every sum and
// every element's arithmetic is the same on one thread or many.
constexpr int64_t kChunk = 16384;

struct Chunk {
  size_t tensor;  // index into the caller's tensor lists
  int64_t begin, end;
};

std::vector<Chunk> chunks_of(const std::vector<int64_t>& sizes) {
  std::vector<Chunk> out;
  for (size_t i = 0; i < sizes.size(); ++i)
    for (int64_t b = 0; b < sizes[i]; b += kChunk) out.push_back({i, b, std::min(sizes[i], b + kChunk)});
  return out;
}

// The fused loops run on float32 contiguous CPU tensors; anything else (a GPU run) takes LibTorch's ops.
bool fusable(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
}

float* float_data(const torch::Tensor& t) { return t.data_ptr<float>(); }

// The parameters of an optimizer that have a gradient, and whether all of them can take the fused loops.
std::vector<torch::Tensor> with_grad(const torch::optim::Optimizer& opt, bool& all_fusable) {
  std::vector<torch::Tensor> out;
  all_fusable = true;
  for (const auto& group : opt.param_groups())
    for (const auto& p : group.params())
      if (p.grad().defined()) {
        out.push_back(p);
        all_fusable = all_fusable && fusable(p) && fusable(p.grad());
      }
  return out;
}

// Sum of squares in double, 8 independent partial sums (vectorisable without reassociating).
__attribute__((target_clones("avx512f", "avx2", "default"))) double sum_of_squares(const float* g, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(g[i + j]) * static_cast<double>(g[i + j]);
  for (; i < n; ++i) acc[0] += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// The per-parameter constants of one AdamW step, rounded to float as LibTorch's scalar arguments are.
struct AdamWCoefs {
  float decay;      // 1 - lr * weight_decay
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float root_bias2;  // sqrt(1 - beta2^step)
  float eps;
  float neg_step_size;  // -lr / (1 - beta1^step)
  float grad_scale;
};

__attribute__((target_clones("avx512f", "avx2", "default"))) void adamw_chunk(float* __restrict p,
                                                                              const float* __restrict g,
                                                                              float* __restrict m,
                                                                              float* __restrict v,
                                                                              const AdamWCoefs& c, int64_t n) {
  const AdamWCoefs k = c;
  for (int64_t i = 0; i < n; ++i) {
    const float grad = g[i] * k.grad_scale;
    const float pd = p[i] * k.decay;
    const float mi = m[i] * k.beta1 + k.one_minus_beta1 * grad;
    const float vi = v[i] * k.beta2 + (k.one_minus_beta2 * grad) * grad;
    const float denom = std::sqrt(vi) / k.root_bias2 + k.eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = pd + (k.neg_step_size * mi) / denom;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void ema_chunk(float* __restrict e,
                                                                            const float* __restrict p, float decay,
                                                                            float rest, int64_t n) {
  for (int64_t i = 0; i < n; ++i) e[i] = e[i] * decay + rest * p[i];
}

}  // namespace

double FusedAdamW::clip_grad_norm(double max_norm) {
  bool all_fusable = true;
  const std::vector<torch::Tensor> params = with_grad(*this, all_fusable);
  if (!all_fusable) {
    grad_scale_ = 1.0f;
    return max_norm > 0 ? torch::nn::utils::clip_grad_norm_(params, max_norm) : 0.0;
  }
  std::vector<const float*> grads;
  std::vector<int64_t> sizes;
  for (const auto& p : params) {
    grads.push_back(float_data(p.grad()));
    sizes.push_back(p.numel());
  }
  grad_scale_ = 1.0f;
  if (grads.empty()) return 0.0;
  const std::vector<Chunk> chunks = chunks_of(sizes);
  std::vector<double> partial(chunks.size());
  at::parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Chunk& c = chunks[size_t(i)];
      partial[size_t(i)] = sum_of_squares(grads[c.tensor] + c.begin, c.end - c.begin);
    }
  });
  double total = 0;
  for (double s : partial) total += s;
  const double norm = std::sqrt(total);
  if (max_norm > 0) {
    // clip_grad_norm_'s float arithmetic: coef = max_norm / (norm + 1e-6), clamped to at most 1.
    const float coef = static_cast<float>(max_norm) / (static_cast<float>(norm) + static_cast<float>(1e-6));
    grad_scale_ = std::isnan(coef) ? coef : std::min(coef, 1.0f);
  }
  return norm;
}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  if (closure) throw Error("FusedAdamW: steps without a closure (compute the loss and backward first)");
  bool all_fusable = true;
  with_grad(*this, all_fusable);
  if (!all_fusable) {
    grad_scale_ = 1.0f;
    return torch::optim::AdamW::step();
  }
  torch::NoGradGuard no_grad;
  std::vector<float*> p_data, m_data, v_data;
  std::vector<const float*> g_data;
  std::vector<AdamWCoefs> coefs;
  std::vector<int64_t> sizes;
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    if (o.amsgrad()) throw Error("FusedAdamW: amsgrad is not supported");
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state()[c10::guts::to_string(p.unsafeGetTensorImpl())];
      if (!slot) {  // as LibTorch: the state is created on the parameter's first gradient
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(s);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      s.step(s.step() + 1);
      const double bias1 = 1 - std::pow(beta1, double(s.step())), bias2 = 1 - std::pow(beta2, double(s.step()));
      AdamWCoefs c;
      c.decay = static_cast<float>(1 - o.lr() * o.weight_decay());
      c.beta1 = static_cast<float>(beta1);
      c.one_minus_beta1 = static_cast<float>(1 - beta1);
      c.beta2 = static_cast<float>(beta2);
      c.one_minus_beta2 = static_cast<float>(1 - beta2);
      c.root_bias2 = static_cast<float>(std::sqrt(bias2));
      c.eps = static_cast<float>(o.eps());
      c.neg_step_size = static_cast<float>(-(o.lr() / bias1));
      c.grad_scale = grad_scale_;
      if (!fusable(s.exp_avg()) || !fusable(s.exp_avg_sq()))  // a state loaded in another layout
        throw Error("FusedAdamW: the AdamW moments of a " + c10::str(p.sizes()) +
                    " parameter are not float32 contiguous CPU tensors");
      p_data.push_back(float_data(p));
      g_data.push_back(float_data(p.grad()));
      m_data.push_back(float_data(s.exp_avg()));
      v_data.push_back(float_data(s.exp_avg_sq()));
      coefs.push_back(c);
      sizes.push_back(p.numel());
    }
  }
  grad_scale_ = 1.0f;
  const std::vector<Chunk> chunks = chunks_of(sizes);
  at::parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Chunk& c = chunks[size_t(i)];
      adamw_chunk(p_data[c.tensor] + c.begin, g_data[c.tensor] + c.begin, m_data[c.tensor] + c.begin,
                  v_data[c.tensor] + c.begin, coefs[c.tensor], c.end - c.begin);
    }
  });
  return {};
}

void ema_update(const std::vector<torch::Tensor>& ema, const std::vector<torch::Tensor>& params, double decay) {
  if (ema.size() != params.size())
    throw Error("ema_update: " + std::to_string(ema.size()) + " EMA tensors for " + std::to_string(params.size()) +
                " parameters");
  bool all_fusable = true;
  for (size_t i = 0; i < ema.size(); ++i) {
    if (!ema[i].sizes().equals(params[i].sizes()))
      throw Error("ema_update: tensor " + std::to_string(i) + " is " + c10::str(ema[i].sizes()) + " in the EMA but " +
                  c10::str(params[i].sizes()) + " in the model");
    all_fusable = all_fusable && fusable(ema[i]) && fusable(params[i]);
  }
  if (!all_fusable) {
    torch::NoGradGuard guard;
    for (size_t i = 0; i < ema.size(); ++i) ema[i].mul_(decay).add_(params[i], 1.0 - decay);
    return;
  }
  std::vector<float*> e_data;
  std::vector<const float*> p_data;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < ema.size(); ++i) {
    e_data.push_back(float_data(ema[i]));
    p_data.push_back(float_data(params[i]));
    sizes.push_back(ema[i].numel());
  }
  const float d = static_cast<float>(decay), rest = static_cast<float>(1.0 - decay);
  const std::vector<Chunk> chunks = chunks_of(sizes);
  at::parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Chunk& c = chunks[size_t(i)];
      ema_chunk(e_data[c.tensor] + c.begin, p_data[c.tensor] + c.begin, d, rest, c.end - c.begin);
    }
  });
}

}  // namespace vdlab
