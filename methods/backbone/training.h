#pragma once
// Training the space-time UNet: AdamW, EMA, gradient clipping, CUDA autocast (bf16) on a GPU, a
// pluggable timestep sampler (one t per video, or PTSS) and training noise, the objective (base MSE plus
// registered loss terms, methods/training/objective.h), the stages (image pre-training with F = 1, then
// video training of the named parameter groups, methods/training/stages.h), resumable
// checkpoints every N steps and on SIGTERM / SIGUSR1 / SIGUSR2 (SIGTERM and SIGUSR2 then stop the run),
// a NaN guard, and training curves in HDF5.
//
// Determinism: every random draw of step s comes from a CPU generator seeded by hash(seed, s), so a run
// resumed from a checkpoint at step s draws exactly what the uninterrupted run drew (bitwise on CPU with
// the same thread count).
#include <functional>
#include <string>
#include <vector>

#include "core/params.h"
#include "datasets/clip_source.h"
#include "methods/backbone/backbone.h"
#include "methods/backbone/unet.h"

namespace vdlab {

struct TrainConfig {
  int64_t steps = 1000;                // temporal (video) steps
  int64_t image_pretrain_steps = 0;    // steps of stage 1 (F = 1 images) before them
  int64_t batch_size = 8;              // videos per step; image steps use batch_size * frames images
  double lr = 1e-3;
  double weight_decay = 0.01;
  int64_t warmup_steps = 50;           // linear learning-rate warm-up
  double ema = 0.999;                  // EMA decay (with the usual (1 + s) / (10 + s) warm-up)
  double grad_clip = 1.0;              // max global gradient norm (0: off)
  double ptss_p = 0.0;                 // PTSS probability (METHODS.md 6); 0: one t per video
  Json noise = Json{{"name", "iid"}};  // a noise_registry() entry for the training noise
  double cond_dropout = 0.1;           // share of conditions dropped (classifier-free guidance)
  // Parameter groups the video stage trains after image pre-training (all, spatial, temporal,
  // temporal_qkv); without image pre-training every parameter trains.
  std::vector<std::string> trainable = {"temporal"};
  Json loss = Json::array();           // named loss terms [{name, weight, ...}] added to the base MSE
  int64_t checkpoint_every = 200;      // steps between checkpoints (0: only at the end and on signals)

  static const ParamSpecs& params();
  static TrainConfig from_json(const Json& resolved, const std::string& path = "backbone.train");
};

// Runtime settings that do not change the result's identity.
struct TrainOptions {
  std::string dir;          // checkpoint.pt, curves.h5 (created if missing)
  std::string device = "cpu";
  int threads = 0;          // at::set_num_threads for the run; 0: keep the caller's at::get_num_threads()
  uint64_t seed = 0;
  // Called after every completed step (tests use it to slow a run down or to poison it).
  std::function<void(int64_t step, double loss)> after_step;
  // Also keep the EMA weights of every regular checkpoint step as ema_snapshot_path(dir, step), so that
  // one run serves every step a study samples at (backbone.checkpoint_step).
  bool keep_ema_snapshots = false;
};

// The checkpoint a run saved before its latest one (dir/checkpoint.prev.pt): where training resumes when
// dir/checkpoint.pt is unreadable.
std::string previous_checkpoint_path(const std::string& dir);

// The EMA weights a run kept at `step` (TrainOptions::keep_ema_snapshots): dir/ema-step<step>.pt.
std::string ema_snapshot_path(const std::string& dir, int64_t step);

struct TrainResult {
  int64_t steps_done = 0;
  int64_t resumed_from = 0;  // the checkpoint step the run started from (0: fresh)
  double seconds = 0;
  double final_loss = 0;
};

// Trains `model` (whose EMA copy is `ema`) on `data`. Resumes from dir/checkpoint.pt when present (from
// dir/checkpoint.prev.pt when checkpoint.pt is unreadable, which is moved to checkpoint.pt.corrupt; from
// scratch when neither reads; one log line says which). Each checkpoint keeps the one it replaces as
// checkpoint.prev.pt. A run that trains appends one line to dir/runs.log (which steps, when), so tests
// and users can count training runs.
// On return `ema` holds the sampling weights. Throws NumericError naming the step on a non-finite
// loss (the last good checkpoint is kept) and TrainingInterrupted on SIGTERM or SIGUSR2 (after
// checkpointing).
TrainResult train_unet(VideoUNet& model, VideoUNet& ema, const ClipSource& data, Prediction prediction,
                       const std::vector<double>& alphas_cumprod, const TrainConfig& config,
                       const TrainOptions& options);

// The training timesteps of one batch, [B, F] int64 in [0, T): with probability ptss_p (PTSS,
// METHODS.md 6) one independent t per frame, else one t per video repeated over its frames. Images
// (F = 1) draw one t each. `per_frame` says which branch was taken.
struct TimestepDraw {
  torch::Tensor t;
  bool per_frame = false;
};
TimestepDraw draw_training_timesteps(int64_t batch, int64_t frames, int64_t num_timesteps, double ptss_p,
                                     at::Generator& gen);

class TrainingInterrupted : public Error {
 public:
  using Error::Error;
};

// Threads for CPU work: at::set_num_threads(threads) (0: hardware concurrency), and OpenBLAS's own
// pool pinned to one thread. Torch already parallelises around BLAS calls; a second pool of spinning
// BLAS threads makes the small GEMMs of the tiny UNet up to 50x slower on a busy machine.
void set_compute_threads(int threads);
// Only the OpenBLAS part (a no-op when another BLAS is loaded).
void limit_blas_threads();

// The weights of a module in a file (atomic write) and back; load checks every name and shape.
void save_weights(VideoUNet& model, const std::string& path);
void load_weights(VideoUNet& model, const std::string& path);

}  // namespace vdlab
