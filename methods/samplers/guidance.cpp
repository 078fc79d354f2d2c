#include "methods/samplers/guidance.h"

#include <ATen/ATen.h>

namespace vdlab {

Denoise guided_denoise(Backbone& backbone, Conditioning cond, double cfg_scale, DenoiseCounter* counter) {
  const bool guided = cfg_scale != 1.0 && backbone.conditional() && cond.labels.defined();
  if (!guided) {
    return [&backbone, cond, counter](const at::Tensor& x, const at::Tensor& t) {
      if (counter) {
        ++counter->calls;
        ++counter->forwards;
      }
      return backbone.forward(x, t, cond);
    };
  }
  return [&backbone, cond, cfg_scale, counter](const at::Tensor& x, const at::Tensor& t) {
    if (counter) {
      ++counter->calls;
      counter->forwards += 2;
    }
    const int64_t b = x.size(0);
    Conditioning both;
    both.labels = at::cat({cond.labels, at::full_like(cond.labels, -1)});
    both.captions = cond.captions;
    both.captions.insert(both.captions.end(), cond.captions.begin(), cond.captions.end());
    const at::Tensor out = backbone.forward(at::cat({x, x}), at::cat({t, t}), both);
    const at::Tensor c = out.narrow(0, 0, b), u = out.narrow(0, b, b);
    return u + (c - u) * cfg_scale;
  };
}

}  // namespace vdlab
