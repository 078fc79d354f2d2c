#include "methods/fvdm/long_video.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "core/error.h"
#include "methods/pipeline/frame_schedules.h"

namespace vdlab {

LongVideoPlan LongVideoPlan::make(int64_t frames, int64_t context, int64_t length, const std::string& path) {
  if (frames < 2) throw ConfigError(path + ": a chunk needs at least 2 frames, the split has " + std::to_string(frames));
  if (context < 1 || context >= frames)
    throw ConfigError(path + ".context: must lie in [1, " + std::to_string(frames - 1) + "] for chunks of " +
                      std::to_string(frames) + " frames, got " + std::to_string(context));
  if (length < frames)
    throw ConfigError(path + ".length: must be at least one chunk (" + std::to_string(frames) + " frames), got " +
                      std::to_string(length));
  return LongVideoPlan{frames, context, length};
}

int64_t LongVideoPlan::chunks() const {
  const int64_t step = frames - context;
  return 1 + (length - frames + step - 1) / step;
}

namespace {

// splitmix64: a well-mixed seed for chunk k of the batch starting at video `begin`.
uint64_t chunk_seed(uint64_t seed, int64_t begin, int64_t k) {
  uint64_t z = seed ^ (uint64_t(begin) * 0x9E3779B97F4A7C15ull) ^ (uint64_t(k) * 0xD1B54A32D192ED03ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<at::Tensor> run_long_video_chunks(const BatchJob& first, const BatchRunner& run, const LongVideoPlan& plan,
                                              const NoiseInit& noise, uint64_t seed) {
  if (first.noise.size(2) != plan.frames)
    throw ConfigError("long video: the batch has " + std::to_string(first.noise.size(2)) + " frames, the plan's chunks " +
                      std::to_string(plan.frames));
  std::vector<at::Tensor> chunks;
  chunks.push_back(run(first));
  const FrameSchedule schedule = long_video_chunk_schedule(first.timesteps, plan.frames, plan.context);
  for (int64_t k = 1; k < plan.chunks(); ++k) {
    BatchJob job = first;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(chunk_seed(seed, first.begin, k));
    job.noise = noise.draw(first.noise.sizes(), gen, first.noise.options().device(at::kCPU)).to(first.noise.device());
    // The context frames are the previous chunk's last M frames as it returned them; the other frames
    // of `clean` are never read (the run starts from the noise at step 0).
    const at::Tensor& previous = chunks.back();
    job.clean = at::zeros_like(job.noise);
    job.clean.narrow(2, 0, plan.context).copy_(previous.narrow(2, plan.frames - plan.context, plan.context));
    job.use_schedule(schedule);
    job.start_step = 0;
    job.start_latent = at::Tensor();
    chunks.push_back(run(job));
  }
  return chunks;
}

at::Tensor assemble_long_video(const std::vector<at::Tensor>& chunks, const LongVideoPlan& plan) {
  if (int64_t(chunks.size()) != plan.chunks())
    throw Error("long video: " + std::to_string(chunks.size()) + " chunks, the plan has " + std::to_string(plan.chunks()));
  std::vector<at::Tensor> parts{chunks.front()};
  for (size_t k = 1; k < chunks.size(); ++k)
    parts.push_back(chunks[k].narrow(2, plan.context, plan.frames - plan.context));
  return at::cat(parts, 2).narrow(2, 0, plan.length).contiguous();
}

OverlapCheck check_overlaps(const std::vector<at::Tensor>& chunks, const LongVideoPlan& plan) {
  OverlapCheck out;
  int64_t equal = 0;
  for (size_t k = 1; k < chunks.size(); ++k)
    for (int64_t m = 0; m < plan.context; ++m) {
      const at::Tensor now = chunks[k].select(2, m);
      const at::Tensor before = chunks[k - 1].select(2, plan.frames - plan.context + m);
      out.max_abs_diff = std::max(out.max_abs_diff, (now.to(at::kDouble) - before.to(at::kDouble)).abs().max().item<double>());
      for (int64_t b = 0; b < now.size(0); ++b) {
        equal += at::equal(now[b], before[b]) ? 1 : 0;
        ++out.frames_checked;
      }
    }
  out.equal_share = out.frames_checked > 0 ? double(equal) / double(out.frames_checked) : 1.0;
  return out;
}

}  // namespace vdlab
