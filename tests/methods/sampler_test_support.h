#pragma once
// Shared pieces of the sampler tests: the committed float64 fixture and the test denoisers it was made with.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "core/params.h"
#include "methods/samplers/sampler.h"

namespace vdlab::testing {

inline const Json& sampler_fixture() {
  static const Json doc = [] {
    std::ifstream in(std::string(VDLAB_SOURCE_DIR) + "/tests/fixtures/samplers/reference.json");
    if (!in) throw std::runtime_error("missing tests/fixtures/samplers/reference.json");
    return Json::parse(in);
  }();
  return doc;
}

// t as [B, 1, F, 1, 1] to broadcast against x.
inline at::Tensor frame_t(const at::Tensor& t) { return t.reshape({t.size(0), 1, t.size(1), 1, 1}); }

// diffusers' scheduler-test model: eps = x t / (t + 1).
inline Denoise diffusers_test_denoise() {
  return [](const at::Tensor& x, const at::Tensor& t) {
    const at::Tensor tt = frame_t(t);
    return x * tt / (tt + 1);
  };
}

// The fixture's nonlinear elementwise model (scripts/reference/samplers_reference.py: oracle_model).
inline Denoise oracle_denoise() {
  return [](const at::Tensor& x, const at::Tensor& t) {
    const at::Tensor tt = frame_t(t);
    return x * tt / (tt + 1) + 0.1 * at::sin(3.0 * x + tt / 100.0);
  };
}

// The fixture's step noise (samplers_reference.py: step_noise): sqrt(2) sin(0.9 k + 1.3 (i + 1) + 0.5).
inline StepNoise oracle_step_noise() {
  return [](int64_t step, const at::Tensor& like) {
    at::Tensor k = at::arange(like.numel(), like.options().dtype(at::kDouble));
    return (std::sqrt(2.0) * at::sin(0.9 * k + 1.3 * static_cast<double>(step + 1) + 0.5))
        .reshape(like.sizes())
        .to(like.options());
  };
}

// diffusers' dummy_sample_deter (tests/schedulers/test_schedulers.py): arange(n) / n laid out as
// [C, *spatial, B] and the batch axis moved first, here with one frame: [B, C, 1, H, W] for a 4-d sample
// (B, C, H, W) and [B, C, 1, 1, W] for the 1-d variant (B, C, W). The layout matters where the test
// draws noise; an elementwise mean does not see it.
inline at::Tensor diffusers_sample_deter(const std::vector<int64_t>& shape, at::ScalarType dtype = at::kDouble) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<int64_t> laid(shape.begin() + 1, shape.end());
  laid.push_back(shape[0]);
  at::Tensor x = (at::arange(n, at::kDouble) / static_cast<double>(n)).reshape(laid).movedim(-1, 0).contiguous();
  const int64_t b = shape[0], c = shape[1];
  const int64_t h = shape.size() == 4 ? shape[2] : 1, w = shape.back();
  return x.reshape({b, c, 1, h, w}).to(dtype);
}

inline SamplerPtr make_sampler(const std::string& name, const Json& params = Json::object()) {
  register_builtin_samplers();
  return sampler_registry().make(name, params, "sampler");
}

}  // namespace vdlab::testing
