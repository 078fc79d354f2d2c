// "frames": any metric scored on a range of the generated videos' frames, whole or in windows.
//
// FVDM's tasks need metrics on parts of a video: FID of the frames a method generated (not the ones it
// was given), and for long videos FVD and motion per chunk position (drift over time). Rather than a
// frame option in every metric, this wrapper slices the generated set and hands it to the named metric;
// the real set is passed as it is. Keys are the inner metric's with the range or window added:
// `fid[tiny-inception,frames1:]`, `fvd[tiny-i3d,f8,at12]`, `mm[at12]`, and with windows also
// `<key>[...,drift]`: the last window's value minus the first's.
//
// Memory: the sliced windows of the generated set are held while they are scored (one pass reads the
// set once for every window); the generated sets this is for are small.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "metrics/builtin_metrics.h"

namespace vdlab {

namespace {

// A key with one more bracketed part: "mm" -> "mm[at4]", "fvd[tiny-i3d]" -> "fvd[tiny-i3d,at4]".
std::string with_part(const std::string& key, const std::string& part) {
  if (!key.empty() && key.back() == ']') return key.substr(0, key.size() - 1) + kMetricKeySeparator + part + "]";
  return key + "[" + part + "]";
}

Video frames_of(const Video& v, int first, int count) {
  Video out(count, v.height, v.width);
  std::memcpy(out.data.data(), v.frame(first), v.frame_size() * std::size_t(count));
  return out;
}

class FrameRangeMetric : public Metric {
 public:
  explicit FrameRangeMetric(const Params& p)
      : inner_config_(p.at("metric")),
        from_(p.get<int>("from")),
        to_(p.get<int>("to")),
        window_(p.get<int>("window")),
        stride_(p.get<int>("stride")) {
    if (inner_config_.at("name") == "frames") p.fail("metric", "is itself a frame range; name the metric to score");
    inner_ = metric_registry().make_resolved(inner_config_, p.field("metric"));
    if (window_ < 0) p.fail("window", "must be 0 (the whole range) or a number of frames, got " + std::to_string(window_));
    if (stride_ < 0) p.fail("stride", "must be 0 (the window) or more, got " + std::to_string(stride_));
    if (stride_ > 0 && window_ == 0) p.fail("stride", "needs a window");
  }

  std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext& ctx) override {
    // Frame ranges from the first generated video (a set's videos share a length).
    int frames = 0;
    if (!fake.empty()) fake.for_each_batch(1, [&](std::size_t first, const std::vector<const Video*>& b) {
      if (first == 0) frames = b[0]->frames;
    });
    const int begin = std::max(0, from_ < 0 ? frames + from_ : from_);
    const int end = to_ <= 0 ? frames + to_ : std::min(to_, frames);
    std::vector<std::pair<int, int>> ranges;  // [first frame, count)
    if (window_ == 0) {
      if (end > begin) ranges.push_back({begin, end - begin});
    } else {
      const int stride = stride_ > 0 ? stride_ : window_;
      for (int s = begin; s + window_ <= end; s += stride) ranges.push_back({s, window_});
    }
    if (ranges.empty()) {
      MetricValue v;
      v.key = with_part(inner_config_.at("name").get<std::string>(), range_part());
      v.skipped = true;
      v.skip_reason = "the generated videos (" + std::to_string(frames) + " frames) hold no such frame range";
      return {v};
    }

    std::vector<VideoSet> sliced(ranges.size());
    fake.for_each([&](std::size_t, const Video& v) {
      if (v.frames != frames) throw ConfigError("frames: generated videos of different lengths in one set");
      for (std::size_t r = 0; r < ranges.size(); ++r) sliced[r].videos.push_back(frames_of(v, ranges[r].first, ranges[r].second));
    });

    std::vector<MetricValue> out;
    std::vector<std::vector<MetricValue>> per_window;  // the inner metric's values, its own keys
    for (std::size_t r = 0; r < ranges.size(); ++r) {
      VideoSet& set = sliced[r];
      set.captions = fake.captions;
      set.non_finite = fake.non_finite;
      const std::string span = "[" + std::to_string(ranges[r].first) + "," + std::to_string(ranges[r].first + ranges[r].second) + ")";
      if (!fake.content_hash.empty()) set.content_hash = fake.content_hash + "|frames" + span;
      set.source = {{"of", fake.source}, {"frames", span}};
      const std::string part = window_ == 0 ? range_part() : "at" + std::to_string(ranges[r].first);
      per_window.push_back(inner_->compute(real, set, ctx));
      for (MetricValue v : per_window.back()) {
        v.key = with_part(v.key, part);
        v.protocol["frame_range"] = {{"first", ranges[r].first}, {"frames", ranges[r].second}, {"of", frames}};
        out.push_back(std::move(v));
      }
    }
    // Drift: the last window against the first, key by key.
    if (window_ > 0 && per_window.size() > 1)
      for (const MetricValue& a : per_window.front())
        for (const MetricValue& b : per_window.back()) {
          if (a.key != b.key || a.skipped || b.skipped) continue;
          MetricValue d;
          d.key = with_part(a.key, "drift");
          d.value = b.value - a.value;
          d.higher_is_better = a.higher_is_better;
          d.protocol = {{"metric", "drift"}, {"definition", "the last window's value minus the first's"},
                        {"first", with_part(a.key, "at" + std::to_string(ranges.front().first))},
                        {"last", with_part(b.key, "at" + std::to_string(ranges.back().first))},
                        {"windows", ranges.size()}};
          out.push_back(std::move(d));
        }
    return out;
  }

 private:
  std::string range_part() const {
    return "frames" + std::to_string(from_) + ":" + (to_ == 0 ? std::string() : std::to_string(to_));
  }

  Json inner_config_;
  MetricPtr inner_;
  int from_, to_, window_, stride_;
};

}  // namespace

void register_frame_range_metric(MetricRegistry& r) {
  r.add({"frames",
         "a metric on part of each generated video: frames [from, to), whole or in windows (per chunk position)",
         {r.nested_param("metric", Json{{"name", "mm"}}, "the metric to score on the frames"),
          {"from", 0, "first frame (negative: from the end)", {}, {}},
          {"to", 0, "one past the last frame (0: the end; negative: from the end)", {}, {}},
          {"window", 0, "0: the range as one clip; N: every window of N frames in the range", {}, {}},
          {"stride", 0, "frames between window starts (0: the window, so windows do not overlap)", {}, {}}},
         [](const Params& p) -> MetricPtr { return std::make_shared<FrameRangeMetric>(p); }});
}

}  // namespace vdlab
