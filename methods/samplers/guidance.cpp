#include "methods/samplers/guidance.h"

#include <ATen/ATen.h>

#include "methods/backbone/blank_caption.h"

namespace vdlab {

Denoise guided_denoise(Backbone& backbone, Conditioning cond, double cfg_scale, DenoiseCounter* counter) {
  const bool guided =
      cfg_scale != 1.0 && backbone.conditional() && (cond.labels.defined() || !cond.captions.empty());
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
    if (cond.labels.defined()) both.labels = at::cat({cond.labels, at::full_like(cond.labels, -1)});
    if (!cond.captions.empty()) {
      // The conditional half gets the videos' captions, the unconditional half the blank caption.
      both.captions = cond.captions;
      both.captions.resize(static_cast<size_t>(b), blank_caption());
      both.captions.resize(static_cast<size_t>(2 * b), blank_caption());
    }
    const at::Tensor out = backbone.forward(at::cat({x, x}), at::cat({t, t}), both);
    const at::Tensor c = out.narrow(0, 0, b), u = out.narrow(0, b, b);
    return u + (c - u) * cfg_scale;
  };
}

}  // namespace vdlab
