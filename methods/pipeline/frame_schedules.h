#pragma once
// Per-frame timestep schedules as values (METHODS.md 6, FVDM): for N sampler steps and F frames, a table
// [N, F] of model timesteps and the frames pinned at their clean values (taken from a reference clip,
// the model sees t = 0 on them). Built from the sampler's own timesteps `ts` (descending). A table is
// checked where it is used (make_frame_plan): an unpinned frame's timesteps never increase, and a frame
// whose timestep stays equal across a step keeps its value through that step (a masked no-op).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace vdlab {

struct FrameSchedule {
  at::Tensor timesteps;         // [N, F] float64
  std::vector<uint8_t> pinned;  // [F]: 1 = held at the reference clip's frame
};

// [t, ..., t] for every frame.
FrameSchedule standard_schedule(const std::vector<double>& ts, int64_t frames);
// [0, t, ..., t]: the first frame is the clean reference frame.
FrameSchedule image_to_video_schedule(const std::vector<double>& ts, int64_t frames);
// [0, t, ..., t, 0]: first and last frames clean, the frames between them generated (F >= 3).
FrameSchedule interpolation_schedule(const std::vector<double>& ts, int64_t frames);
// A long-video chunk: the first `context` frames are the last `context` frames of the previous chunk
// (clean, t = 0), the rest generated (0 < context < F).
FrameSchedule long_video_chunk_schedule(const std::vector<double>& ts, int64_t frames, int64_t context);
// tau_i(t) = min(c i t, t) for frame i: frames near the start are less noisy than the rest; a frame at
// t = 0 throughout (frame 0) is clean and pinned. c > 0.
FrameSchedule progressive_schedule(const std::vector<double>& ts, int64_t frames, double c);

}  // namespace vdlab
