// Metrics computed on pixels: motion magnitude, Farneback flow motion (and its dynamics against the real
// set), stability.
#include "core/log.h"
#include "metrics/builtin_metrics.h"
#include "metrics/motion.h"

namespace vdlab {

namespace {

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

MetricValue empty_set(const std::string& key) {
  MetricValue v;
  v.key = key;
  v.skipped = true;
  v.skip_reason = "an empty video set";
  return v;
}

class MotionMagnitudeMetric : public Metric {
 public:
  explicit MotionMagnitudeMetric(const Params&) {}
  std::vector<MetricValue> compute(const VideoSet&, const VideoSet& fake, MetricContext&) override {
    if (fake.empty()) return {empty_set("mm")};
    MetricValue v;
    v.key = "mm";
    v.higher_is_better = true;  // more motion; read against the real set and the baseline
    fake.for_each([&](std::size_t, const Video& video) { v.per_sample.push_back(motion_magnitude(video)); });
    v.value = mean(v.per_sample);
    v.protocol = {{"metric", "mm"}, {"definition", "mean |I(f+1) - I(f)| over pixels, channels, pairs; pixels in [0, 1]"},
                  {"n_fake", fake.size()}};
    return {v};
  }
};

class FlowMotionMetric : public Metric {
 public:
  explicit FlowMotionMetric(const Params& p) : baseline_(p.get<std::string>("baseline")) {}
  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext&) override {
    if (fake.empty()) return {empty_set("flow_motion")};
    const FarnebackParams params;
    Json protocol{{"metric", "flow_motion"}, {"farneback", params.to_json()},
                  {"definition", "mean Farneback flow magnitude (pixels) over pixels and consecutive grey frame pairs"},
                  {"n_fake", fake.size()}};
    MetricValue v;
    v.key = "flow_motion";
    v.higher_is_better = true;
    fake.for_each([&](std::size_t, const Video& video) { v.per_sample.push_back(flow_motion(video, params)); });
    v.value = mean(v.per_sample);
    v.protocol = protocol;
    std::vector<MetricValue> out{v};
    if (baseline_ == "real" && !real.empty()) {
      std::vector<double> ref;
      real.for_each([&](std::size_t, const Video& video) { ref.push_back(flow_motion(video, params)); });
      MetricValue d;
      d.key = "motion_dynamics[vs-real]";
      d.higher_is_better = true;
      protocol["baseline"] = "real";
      protocol["baseline_flow_motion"] = mean(ref);
      protocol["definition"] = "(mean flow_motion of the generated set - that of the real set) / that of the real set";
      if (mean(ref) == 0.0) {
        d.skipped = true;
        d.skip_reason = "the real set has no flow motion";
      } else {
        d.value = motion_dynamics(v.per_sample, ref);
      }
      d.protocol = protocol;
      out.push_back(d);
    }
    return out;
  }

 private:
  std::string baseline_;
};

// What stability measures is the pixels: saturation and collapse. vdlab's runner never hands it a video
// made from NaN or Inf (a model output holding any stops its cell with an error naming the step); a
// library caller that quantises non-finite output itself flags such videos (VideoSet::non_finite), and
// they count as unstable.
const char* const kStabilityDefinition =
    "share of generated videos with no saturated and no collapsed frame (a model output with NaN or Inf stops "
    "its cell before any metric; a video flagged as quantised from non-finite values counts as unstable)";

class StabilityMetric : public Metric {
 public:
  explicit StabilityMetric(const Params& p) {
    t_.saturated_fraction = p.get<double>("saturated_fraction");
    t_.collapse_std = p.get<double>("collapse_std");
  }
  std::vector<MetricValue> compute(const VideoSet&, const VideoSet& fake, MetricContext&) override {
    if (fake.empty()) return {empty_set("stability")};
    MetricValue v;
    v.key = "stability";
    v.higher_is_better = true;
    int saturated = 0, collapsed = 0, non_finite = 0;
    fake.for_each([&](std::size_t i, const Video& video) {
      const StabilityReport r = video_stability(video, t_);
      // A video whose raw output held NaN or Inf is unstable, whatever its replaced pixels look like.
      const bool raw_non_finite = i < fake.non_finite.size() && fake.non_finite[i];
      non_finite += raw_non_finite;
      v.per_sample.push_back(r.stable && !raw_non_finite ? 1.0 : 0.0);
      saturated += r.saturated_frames;
      collapsed += r.collapsed_frames;
    });
    v.value = mean(v.per_sample);
    v.protocol = {{"metric", "stability"},
                  {"definition", kStabilityDefinition},
                  {"thresholds", t_.to_json()},
                  {"saturated_frames", saturated},
                  {"collapsed_frames", collapsed},
                  {"non_finite_videos", non_finite},
                  {"n_fake", fake.size()}};
    return {v};
  }

 private:
  StabilityThresholds t_;
};

}  // namespace

void register_pixel_metrics(MetricRegistry& r) {
  r.add({"mm", "motion magnitude: mean absolute difference of consecutive frames, pixels in [0, 1]", {},
         [](const Params& p) -> MetricPtr { return std::make_shared<MotionMagnitudeMetric>(p); }});
  r.add({"flow_motion",
         "mean Farneback optical-flow magnitude (pixels); with baseline real also motion_dynamics[vs-real]",
         {{"baseline", "real", "real: also report the relative change against the real set; none: only the mean",
           {"real", "none"}}},
         [](const Params& p) -> MetricPtr { return std::make_shared<FlowMotionMetric>(p); }});
  r.add({"stability", kStabilityDefinition,
         {{"saturated_fraction", 0.98, "a frame is saturated when more than this share of its values is 0 or 255"},
          {"collapse_std", 1.0, "a frame is collapsed when the standard deviation of its values (0..255) is below"}},
         [](const Params& p) -> MetricPtr { return std::make_shared<StabilityMetric>(p); }});
}

}  // namespace vdlab
