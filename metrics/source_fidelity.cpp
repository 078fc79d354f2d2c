// motion_fidelity (with flow_direction_agreement) and appearance_change: generated video i scored against
// the split's clip i (modulo the split's size), the clip a source-rendering method (vmc) was given for it.
#include "metrics/source_fidelity.h"

#include <array>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "metrics/builtin_metrics.h"
#include "metrics/motion.h"

namespace vdlab {

namespace {

void check_pair(const Video& a, const Video& b) {
  if (a.frames != b.frames || a.height != b.height || a.width != b.width)
    throw ConfigError("source fidelity: the generated video and its source clip differ in frames or size");
}

std::vector<float> all_flows(const Video& v) {
  std::vector<float> out;
  for (int f = 0; f + 1 < v.frames; ++f) {
    const std::vector<float> flow = farneback_flow(v, f);
    out.insert(out.end(), flow.begin(), flow.end());
  }
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

// Every real clip up to `count` (the paired metrics read the source of each generated video).
std::vector<Video> sources_for(const VideoSet& real, std::size_t count) {
  std::vector<Video> out;
  real.for_each([&](std::size_t i, const Video& v) {
    if (i < count) out.push_back(v);
  });
  return out;
}

MetricValue skipped_value(const std::string& key, const std::string& why) {
  MetricValue v;
  v.key = key;
  v.skipped = true;
  v.skip_reason = why;
  return v;
}

class MotionFidelityMetric : public Metric {
 public:
  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext&) override {
    if (fake.empty() || real.empty())
      return {skipped_value("motion_fidelity", "an empty video set"), skipped_value("flow_direction_agreement", "an empty video set")};
    const std::vector<Video> sources = sources_for(real, fake.size());
    MetricValue corr, dir;
    corr.key = "motion_fidelity";
    dir.key = "flow_direction_agreement";
    corr.higher_is_better = dir.higher_is_better = true;
    fake.for_each([&](std::size_t i, const Video& video) {
      const Video& source = sources[i % sources.size()];
      corr.per_sample.push_back(flow_field_correlation(source, video));
      dir.per_sample.push_back(flow_direction_agreement(source, video));
    });
    corr.value = mean(corr.per_sample);
    dir.value = mean(dir.per_sample);
    const Json base = {{"farneback", FarnebackParams().to_json()},
                       {"pairing", "generated video i against the split's clip i modulo the split's size"},
                       {"n_fake", fake.size()},
                       {"n_sources", sources.size()}};
    corr.protocol = base;
    corr.protocol["metric"] = "motion_fidelity";
    corr.protocol["definition"] = "Pearson correlation of source and generated Farneback flow fields over frame pairs, pixels, dx/dy";
    dir.protocol = base;
    dir.protocol["metric"] = "flow_direction_agreement";
    dir.protocol["definition"] = "mean over frame pairs of cos(mean flow of moving pixels, source vs generated); moving: |flow| > 0.1 px";
    return {corr, dir};
  }
};

class AppearanceChangeMetric : public Metric {
 public:
  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext&) override {
    if (fake.empty() || real.empty()) return {skipped_value("appearance_change", "an empty video set")};
    const std::vector<Video> sources = sources_for(real, fake.size());
    MetricValue v;
    v.key = "appearance_change";
    v.higher_is_better = true;  // a target caption asks for another appearance
    fake.for_each([&](std::size_t i, const Video& video) {
      v.per_sample.push_back(colour_histogram_distance(sources[i % sources.size()], video));
    });
    v.value = mean(v.per_sample);
    v.protocol = {{"metric", "appearance_change"},
                  {"definition", "total-variation distance of source and generated colour histograms, 4 bins per channel"},
                  {"pairing", "generated video i against the split's clip i modulo the split's size"},
                  {"n_fake", fake.size()}};
    return {v};
  }
};

}  // namespace

double flow_field_correlation(const Video& source, const Video& generated) {
  check_pair(source, generated);
  const std::vector<float> a = all_flows(source), b = all_flows(generated);
  if (a.empty()) return 0.0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= double(a.size());
  mb /= double(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa <= 0 || sbb <= 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

double flow_direction_agreement(const Video& source, const Video& generated, double moving_px) {
  check_pair(source, generated);
  if (source.frames < 2) return 0.0;
  auto mean_motion = [&](const Video& v, int f, double& mx, double& my) {
    const std::vector<float> flow = farneback_flow(v, f);
    int n = 0;
    mx = my = 0;
    for (size_t i = 0; i + 1 < flow.size(); i += 2)
      if (std::hypot(double(flow[i]), double(flow[i + 1])) > moving_px) mx += flow[i], my += flow[i + 1], ++n;
    return n > 0;
  };
  double total = 0;
  for (int f = 0; f + 1 < source.frames; ++f) {
    double sx, sy, gx, gy;
    const bool s_moves = mean_motion(source, f, sx, sy), g_moves = mean_motion(generated, f, gx, gy);
    const double norm = std::hypot(sx, sy) * std::hypot(gx, gy);
    if (s_moves && g_moves && norm > 0) total += (sx * gx + sy * gy) / norm;
  }
  return total / double(source.frames - 1);
}

double colour_histogram_distance(const Video& source, const Video& generated) {
  check_pair(source, generated);
  auto histogram = [](const Video& v) {
    std::array<double, 64> h{};
    const size_t pixels = v.data.size() / 3;
    for (size_t p = 0; p < pixels; ++p)
      ++h[size_t(v.data[p * 3] / 64) * 16 + size_t(v.data[p * 3 + 1] / 64) * 4 + size_t(v.data[p * 3 + 2] / 64)];
    for (double& x : h) x /= double(pixels);
    return h;
  };
  const auto a = histogram(source), b = histogram(generated);
  double tv = 0;
  for (size_t i = 0; i < a.size(); ++i) tv += std::abs(a[i] - b[i]);
  return tv / 2;
}

void register_source_fidelity_metrics(MetricRegistry& r) {
  r.add({"motion_fidelity",
         "flow-field correlation of each generated video with its source clip (the split's clip i), and "
         "flow_direction_agreement",
         {}, [](const Params&) -> MetricPtr { return std::make_shared<MotionFidelityMetric>(); }});
  r.add({"appearance_change",
         "colour-histogram distance of each generated video from its source clip (the split's clip i), in [0, 1]", {},
         [](const Params&) -> MetricPtr { return std::make_shared<AppearanceChangeMetric>(); }});
}

}  // namespace vdlab
