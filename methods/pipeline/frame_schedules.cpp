#include "methods/pipeline/frame_schedules.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <string>

#include "core/error.h"

namespace vdlab {

namespace {

// The table tau(step, frame) for every step and frame; frames at t = 0 in every step are pinned.
FrameSchedule build(const std::vector<double>& ts, int64_t frames, const char* what,
                    const std::function<double(double t, int64_t frame)>& tau) {
  if (ts.empty()) throw ConfigError(std::string(what) + ": the sampler lists no timesteps");
  if (frames < 1) throw ConfigError(std::string(what) + ": needs at least one frame");
  const int64_t n = static_cast<int64_t>(ts.size());
  std::vector<double> values(static_cast<size_t>(n * frames));
  FrameSchedule out;
  out.pinned.assign(static_cast<size_t>(frames), 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < frames; ++f) {
      const double v = tau(ts[static_cast<size_t>(i)], f);
      values[static_cast<size_t>(i * frames + f)] = v;
      if (v != 0.0) out.pinned[static_cast<size_t>(f)] = 0;
    }
  out.timesteps = at::tensor(values, at::kDouble).reshape({n, frames});
  return out;
}

}  // namespace

FrameSchedule standard_schedule(const std::vector<double>& ts, int64_t frames) {
  return build(ts, frames, "standard schedule", [](double t, int64_t) { return t; });
}

FrameSchedule image_to_video_schedule(const std::vector<double>& ts, int64_t frames) {
  if (frames < 2) throw ConfigError("image-to-video schedule: needs at least 2 frames, got " + std::to_string(frames));
  return build(ts, frames, "image-to-video schedule", [](double t, int64_t f) { return f == 0 ? 0.0 : t; });
}

FrameSchedule interpolation_schedule(const std::vector<double>& ts, int64_t frames) {
  if (frames < 3) throw ConfigError("interpolation schedule: needs at least 3 frames, got " + std::to_string(frames));
  return build(ts, frames, "interpolation schedule",
               [frames](double t, int64_t f) { return f == 0 || f == frames - 1 ? 0.0 : t; });
}

FrameSchedule long_video_chunk_schedule(const std::vector<double>& ts, int64_t frames, int64_t context) {
  if (context < 1 || context >= frames)
    throw ConfigError("long-video chunk schedule: context frames must lie in [1, " + std::to_string(frames - 1) +
                      "], got " + std::to_string(context));
  return build(ts, frames, "long-video chunk schedule", [context](double t, int64_t f) { return f < context ? 0.0 : t; });
}

FrameSchedule progressive_schedule(const std::vector<double>& ts, int64_t frames, double c) {
  if (!(c > 0)) throw ConfigError("progressive schedule: c must be positive, got " + std::to_string(c));
  return build(ts, frames, "progressive schedule",
               [c](double t, int64_t f) { return std::min(c * static_cast<double>(f) * t, t); });
}

}  // namespace vdlab
