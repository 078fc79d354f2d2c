// "smoothness": how evenly a video moves, for interpolated videos (FVDM's interpolation task pins the
// first and last frames; a smooth in-between has no jolt next to them). Two values, pixels in [0, 1]:
//   smoothness         mean |I(f+1) - 2 I(f) + I(f-1)| over pixels, channels and inner frames: the
//                      temporal acceleration; 0 for constant motion, lower is smoother
//   smoothness[jump]   max_f d(f) / mean_f d(f) with d(f) = mean |I(f+1) - I(f)|: the largest frame step
//                      against the average one; 1 for evenly spread change (and for a still video)
// Both are per video (per_sample) and averaged; read them against the real split's own values (its
// reference row) and a baseline.
#include <algorithm>
#include <cmath>

#include "metrics/builtin_metrics.h"

namespace vdlab {

namespace {

// Mean |a - b| over a frame's bytes, in [0, 1] units.
double mean_abs_step(const Video& v, int f) {
  const std::uint8_t* a = v.frame(f);
  const std::uint8_t* b = v.frame(f + 1);
  double s = 0;
  for (std::size_t k = 0; k < v.frame_size(); ++k) s += std::abs(double(b[k]) - double(a[k]));
  return s / (255.0 * double(v.frame_size()));
}

double acceleration(const Video& v) {
  double s = 0;
  for (int f = 1; f + 1 < v.frames; ++f) {
    const std::uint8_t* p = v.frame(f - 1);
    const std::uint8_t* c = v.frame(f);
    const std::uint8_t* n = v.frame(f + 1);
    for (std::size_t k = 0; k < v.frame_size(); ++k) s += std::abs(double(n[k]) - 2.0 * double(c[k]) + double(p[k]));
  }
  return s / (255.0 * double(v.frame_size()) * double(v.frames - 2));
}

double jump_ratio(const Video& v) {
  double total = 0, largest = 0;
  for (int f = 0; f + 1 < v.frames; ++f) {
    const double d = mean_abs_step(v, f);
    total += d;
    largest = std::max(largest, d);
  }
  const double mean = total / double(v.frames - 1);
  return mean > 0 ? largest / mean : 1.0;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

class SmoothnessMetric : public Metric {
 public:
  explicit SmoothnessMetric(const Params&) {}
  std::vector<MetricValue> compute(const VideoSet&, const VideoSet& fake, MetricContext&) override {
    MetricValue accel, jump;
    accel.key = "smoothness";
    jump.key = metric_key("smoothness", {"jump"});
    accel.higher_is_better = jump.higher_is_better = false;
    bool too_short = fake.empty();
    fake.for_each([&](std::size_t, const Video& v) {
      if (v.frames < 3) {
        too_short = true;
        return;
      }
      accel.per_sample.push_back(acceleration(v));
      jump.per_sample.push_back(jump_ratio(v));
    });
    if (too_short) {
      for (MetricValue* m : {&accel, &jump}) {
        m->skipped = true;
        m->skip_reason = fake.empty() ? "an empty video set" : "smoothness needs videos of at least 3 frames";
        m->per_sample.clear();
      }
      return {accel, jump};
    }
    accel.value = mean(accel.per_sample);
    jump.value = mean(jump.per_sample);
    accel.protocol = {{"metric", "smoothness"},
                      {"definition", "mean |I(f+1) - 2 I(f) + I(f-1)| over pixels, channels, inner frames; pixels in [0, 1]"},
                      {"n_fake", fake.size()}};
    jump.protocol = {{"metric", "smoothness[jump]"},
                     {"definition", "max_f d(f) / mean_f d(f), d(f) = mean |I(f+1) - I(f)|; 1 when d is 0"},
                     {"n_fake", fake.size()}};
    return {accel, jump};
  }
};

}  // namespace

void register_smoothness_metric(MetricRegistry& r) {
  r.add({"smoothness",
         "temporal acceleration mean |I(f+1) - 2 I(f) + I(f-1)| (lower is smoother) and smoothness[jump], the largest "
         "frame step over the mean one",
         {},
         [](const Params& p) -> MetricPtr { return std::make_shared<SmoothnessMetric>(p); }});
}

}  // namespace vdlab
