#pragma once
// FVDM's zero-shot tasks (seed 004, METHODS.md 6), each the generation pipeline with a per-frame
// timestep schedule and the frames it pins:
//   fvdm-standard          [t, ..., t]
//   fvdm-image-to-video    [0, t, ..., t]       frame 0 from the reference clip
//   fvdm-interpolation     [0, t, ..., t, 0]    first and last frames from the reference clip
//   fvdm-progressive       tau_i(t) = min(c i t, t), frame 0 from the reference clip, every other frame
//                          starting from that frame noised to its own first timestep
//   fvdm-long-video        chunks of F frames, each after the first conditioned on the last M frames
//                          of the previous chunk (methods/fvdm/long_video.h), to any length
// The backbone is whatever the experiment trains (PTSS, `backbone.train.ptss_p`, is what lets a network
// read such tables); the tasks need no retraining. Each cell records what it pinned and how exactly the
// output kept it under stats.fvdm (methods/fvdm/pinned_fidelity.h, long_video.h).
#include <cstdint>
#include <string>
#include <vector>

#include "methods/pipeline/frame_schedules.h"

namespace vdlab {

// The per-frame table of a pinned-frame task ("standard", "image-to-video", "interpolation",
// "progressive" with its c) for the sampler's timesteps and F frames.
FrameSchedule fvdm_task_schedule(const std::string& task, const std::vector<double>& timesteps, int64_t frames,
                                 double c = 0.1);

// Registers the five fvdm-* methods. Safe to call more than once.
void register_fvdm_methods();

}  // namespace vdlab
