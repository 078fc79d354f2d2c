#include "methods/drmo/nmi_curve.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "methods/drmo/motion_matrix.h"

namespace vdlab {

namespace {

std::vector<double> flat(const at::Tensor& m) {
  const at::Tensor c = m.to(at::kCPU).to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

NmiCurves nmi_curves(const std::vector<at::Tensor>& matrices, const NmiBinning& binning) {
  NmiCurves out;
  if (matrices.empty()) return out;
  std::vector<std::vector<double>> values;
  for (const auto& m : matrices) values.push_back(flat(m));
  for (size_t k = 0; k + 1 < values.size(); ++k) out.next.push_back(nmi(values[k], values[k + 1], binning));
  for (const auto& v : values) out.to_last.push_back(nmi(v, values.back(), binning));
  return out;
}

std::vector<at::Tensor> frame_residuals(const std::vector<at::Tensor>& states, int64_t video, int64_t frame) {
  std::vector<at::Tensor> out;
  for (size_t k = 0; k + 1 < states.size(); ++k)
    out.push_back((states[k + 1].select(0, video).select(1, frame) - states[k].select(0, video).select(1, frame)));
  return out;
}

void CurveMean::add(const std::vector<double>& curve) {
  if (count_ == 0) sum_.assign(curve.size(), 0.0);
  if (curve.size() != sum_.size()) throw Error("curve mean: curves of different lengths");
  for (size_t i = 0; i < curve.size(); ++i) sum_[i] += curve[i];
  ++count_;
}

std::vector<double> CurveMean::mean() const {
  std::vector<double> out(sum_);
  for (auto& v : out) v /= double(count_ > 0 ? count_ : 1);
  return out;
}

}  // namespace vdlab

namespace vdlab {

NmiCurves residual_nmi_curves(const std::vector<at::Tensor>& states, int64_t video, int64_t frame_i, int64_t frame_j,
                              int64_t patch, const NmiBinning& binning) {
  const std::vector<at::Tensor> a = frame_residuals(states, video, frame_i), b = frame_residuals(states, video, frame_j);
  std::vector<at::Tensor> matrices;
  for (size_t k = 0; k < a.size(); ++k)
    matrices.push_back(motion_matrix(a[k].unsqueeze(0), b[k].unsqueeze(0), patch).squeeze(0));
  return nmi_curves(matrices, binning);
}

}  // namespace vdlab
