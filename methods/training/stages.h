#pragma once
// The stage structure of a backbone training recipe (DESIGN.md): stage "images" (F = 1 batches of single
// frames, every parameter, the base loss, i.i.d. noise) for image_pretrain_steps, then stage "videos"
// (whole clips, the trainable groups, the loss terms, PTSS and the training noise) for steps.
//
// Each stage has its own cache key, the hash of exactly what its weights depend on: the image stage
// ignores the fields only the video stage reads, so every video-stage variant of a lambda or p ablation
// starts from one cached image-stage checkpoint. Plain data, no torch.
#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct TrainingStage {
  std::string name;                    // "images" or "videos"
  int64_t begin = 0, end = 0;          // global steps [begin, end)
  bool images = false;                 // batches of single frames (F = 1)
  std::vector<std::string> trainable;  // parameter groups that train
  bool loss_terms = false;             // the objective's named terms apply (they compare frames)
};

// The stages of a recipe, in order, empty ones left out. `trainable` is what the video stage trains
// after an image stage; without one, a fresh network trains every parameter.
std::vector<TrainingStage> training_stages(int64_t image_pretrain_steps, int64_t steps,
                                           const std::vector<std::string>& trainable);

// The revision of the trainer's arithmetic, part of both stages' cache keys, so that weights cached by a
// trainer whose arithmetic differed in the last bits are not taken for what this one trains. Raise it with
// any change that alters the trained weights of the same recipe, data and seed, and say here what changed.
//   1 (keys without the field): the first trainer.
//   2: the batch enters the network's convolutions contiguous (it ran in channels-last layout before,
//      through other kernels: methods/backbone/unet.cpp); AdamW, clipping and the EMA are single passes
//      with their own rounding (methods/training/fused_updates.h) in place of LibTorch's kernels.
inline constexpr int kTrainerRevision = 2;

// The backbone.train fields only the video stage reads.
const std::vector<std::string>& video_stage_fields();

// What the image stage's weights depend on: the resolved "unet" backbone config with the video-stage
// fields of its train recipe left out, the training data, the seed and the trainer's revision. Hash it for
// the stage's cache key.
Json image_stage_identity(const Json& resolved_backbone, const Json& data, uint64_t seed);

}  // namespace vdlab
