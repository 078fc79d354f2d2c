#include "methods/backbone/training.h"
#include "methods/backbone/blank_caption.h"

#include <ATen/autocast_mode.h>
#include <H5Cpp.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/training_fault.h"
#include "core/hash.h"
#include "core/hdf5_util.h"
#include "core/log.h"
#include "core/suggest.h"
#include "methods/backbone/sharded_forward.h"
#include "methods/noise/noise_init.h"
#include "methods/training/fused_updates.h"
#include "methods/training/motion_score.h"
#include "methods/training/objective.h"
#include "methods/training/stages.h"
#include "core/atomic_file.h"

namespace vdlab {

namespace fs = std::filesystem;

// ---- config -------------------------------------------------------------------------------------

const ParamSpecs& TrainConfig::params() {
  register_builtin_noise();
  static const ParamSpecs specs = [] {
    const TrainConfig d;
    ParamSpecs s = {
        {"steps", d.steps, "temporal (video) training steps", {}, {}},
        {"image_pretrain_steps", d.image_pretrain_steps, "image pre-training steps (F = 1) before them", {}, {}},
        {"batch_size", d.batch_size, "videos per step (image steps: batch_size * frames images)", {}, {}},
        {"lr", d.lr, "AdamW learning rate", {}, {}},
        {"weight_decay", d.weight_decay, "AdamW weight decay", {}, {}},
        {"warmup_steps", d.warmup_steps, "linear learning-rate warm-up steps", {}, {}},
        {"ema", d.ema, "EMA decay of the sampling weights", {}, {}},
        {"grad_clip", d.grad_clip, "max global gradient norm (0: off)", {}, {}},
        {"ptss_p", d.ptss_p, "PTSS probability: per batch, independent t per frame", {}, {}},
        {"cond_dropout", d.cond_dropout, "share of conditions dropped for classifier-free guidance", {}, {}},
        {"trainable", d.trainable,
         "parameter groups the video stage trains after image pre-training (all, spatial, temporal, temporal_qkv)",
         {}, {}},
        {"loss", d.loss, "named loss terms added to the base MSE: [{name: temporal_consistency, weight: 2.0}, ...]",
         {}, {}},
        {"checkpoint_every", d.checkpoint_every, "steps between checkpoints (0: end and signals only)", {}, {}},
    };
    s.push_back(noise_registry().nested_param("noise", d.noise, "training noise (iid, ar1 {rho}, mixed {rho})"));
    return s;
  }();
  return specs;
}

TrainConfig TrainConfig::from_json(const Json& given, const std::string& path) {
  const Json j = resolve_params(given, params(), path);
  const Params p(j, path);
  TrainConfig c;
  c.steps = p.get<int64_t>("steps");
  c.image_pretrain_steps = p.get<int64_t>("image_pretrain_steps");
  c.batch_size = p.get<int64_t>("batch_size");
  c.lr = p.get<double>("lr");
  c.weight_decay = p.get<double>("weight_decay");
  c.warmup_steps = p.get<int64_t>("warmup_steps");
  c.ema = p.get<double>("ema");
  c.grad_clip = p.get<double>("grad_clip");
  c.ptss_p = p.get<double>("ptss_p");
  c.cond_dropout = p.get<double>("cond_dropout");
  c.trainable = p.get<std::vector<std::string>>("trainable");
  c.loss = resolve_loss_terms(j.at("loss"), p.field("loss"));
  c.checkpoint_every = p.get<int64_t>("checkpoint_every");
  c.noise = j.at("noise");
  if (c.steps < 0 || c.image_pretrain_steps < 0) p.fail("steps", "must be >= 0");
  if (c.batch_size < 1) p.fail("batch_size", "must be >= 1");
  if (c.ptss_p < 0 || c.ptss_p > 1) p.fail("ptss_p", "must lie in [0, 1]");
  if (c.cond_dropout < 0 || c.cond_dropout > 1) p.fail("cond_dropout", "must lie in [0, 1]");
  if (c.ema < 0 || c.ema >= 1) p.fail("ema", "must lie in [0, 1)");
  if (c.trainable.empty()) p.fail("trainable", "names no parameter group");
  for (const auto& group : c.trainable) {
    const auto known = VideoUNetImpl::group_names();
    if (std::find(known.begin(), known.end(), group) == known.end())
      p.fail("trainable", "unknown parameter group '" + group + "'" + suggestion_suffix(group, known));
  }
  return c;
}

// ---- signals ------------------------------------------------------------------------------------

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_training_signal(int sig) { g_signal.store(sig); }

// SIGTERM, SIGUSR1 and SIGUSR2 set a flag while training runs; the loop checkpoints at the next step
// boundary. SIGUSR2 is what a Slurm task gets shortly before its time limit (`--signal=B:USR2@120`,
// forwarded by the batch script; USR1 is taken by NCCL on GPU clusters): like SIGTERM it stops the run
// after the checkpoint, so the requeued task resumes there.
class SignalScope {
 public:
  SignalScope() {
    g_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = on_training_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGUSR1, &sa, &old_usr1_);
    sigaction(SIGUSR2, &sa, &old_usr2_);
  }
  ~SignalScope() {
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGUSR1, &old_usr1_, nullptr);
    sigaction(SIGUSR2, &old_usr2_, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  struct sigaction old_term_ {}, old_usr1_ {}, old_usr2_ {};
};

class ThreadScope {
 public:
  // 0 keeps the caller's count (the CLI's --threads), so training never widens a task's allocation.
  explicit ThreadScope(int threads) : old_(at::get_num_threads()) { set_compute_threads(threads > 0 ? threads : old_); }
  ~ThreadScope() { at::set_num_threads(old_); }

 private:
  int old_;
};

uint64_t step_seed(uint64_t seed, int64_t step) {
  // splitmix64 of (seed, step): independent streams per step, reproducible after a resume.
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + uint64_t(step) + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One row of the training curve.
struct CurveRow {
  double step, loss, lr, grad_norm, stage, seconds;
};
constexpr int kCurveCols = 6;

torch::Tensor curve_tensor(const std::vector<CurveRow>& rows) {
  auto t = torch::empty({int64_t(rows.size()), kCurveCols}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    const double v[kCurveCols] = {rows[i].step, rows[i].loss, rows[i].lr, rows[i].grad_norm, rows[i].stage, rows[i].seconds};
    for (int k = 0; k < kCurveCols; ++k) a[int64_t(i)][k] = v[k];
  }
  return t;
}

std::vector<CurveRow> curve_rows(const torch::Tensor& t) {
  std::vector<CurveRow> rows;
  auto a = t.accessor<double, 2>();
  for (int64_t i = 0; i < t.size(0); ++i) rows.push_back({a[i][0], a[i][1], a[i][2], a[i][3], a[i][4], a[i][5]});
  return rows;
}

void write_curves(const std::string& path, const std::vector<CurveRow>& rows) {
  h5::quiet();
  AtomicFile file(path);
  try {
    H5::H5File h5(file.temp_path(), H5F_ACC_TRUNC);
    const char* names[kCurveCols] = {"step", "loss", "lr", "grad_norm", "stage", "seconds"};
    hsize_t n = rows.size();
    H5::DataSpace space(1, &n);
    std::vector<double> col(rows.size());
    for (int k = 0; k < kCurveCols; ++k) {
      for (size_t i = 0; i < rows.size(); ++i) {
        const double v[kCurveCols] = {rows[i].step, rows[i].loss, rows[i].lr, rows[i].grad_norm, rows[i].stage, rows[i].seconds};
        col[i] = v[k];
      }
      auto ds = h5.createDataSet(names[k], H5::PredType::NATIVE_DOUBLE, space);
      if (!col.empty()) ds.write(col.data(), H5::PredType::NATIVE_DOUBLE);
    }
    H5::StrType str(H5::PredType::C_S1, H5T_VARIABLE);
    str.setCset(H5T_CSET_UTF8);
    auto attr = h5.createAttribute("description", str, H5::DataSpace(H5S_SCALAR));
    const std::string desc = "backbone training curve, one row per step; stage 0 = images (F = 1), 1 = videos";
    attr.write(str, desc);
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot write the training curves (" + h5::describe(e) + ")");
  }
  file.commit();
}

void copy_parameters(VideoUNet& from, VideoUNet& to) {
  torch::NoGradGuard guard;
  auto src = from->named_parameters();
  auto dst = to->named_parameters();
  for (auto& item : dst) item.value().copy_(src[item.key()]);
  auto sb = from->named_buffers();
  for (auto& item : to->named_buffers()) item.value().copy_(sb[item.key()]);
}

// The first line of a LibTorch error, without the C++ stack it carries.
std::string torch_reason(const c10::Error& e) {
  std::string text = e.what_without_backtrace();
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

// Writes the archive to the temp file through checked write calls: LibTorch's own file writer can
// lose a failed write (a full disk) and leave a short file that would then be renamed into place.
void save_archive(torch::serialize::OutputArchive& archive, const AtomicFile& out) {
  const int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError(with_system_reason(out.final_path() + ": cannot write", errno));
  int err = 0;
  // After a failed write the rest is dropped but reported as written: LibTorch's zip writer answers a
  // short count by throwing from its destructor, which ends the process (std::terminate).
  const auto write_all = [&](const void* data, size_t size) -> size_t {
    const char* bytes = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size && err == 0) {
      const ssize_t n = ::write(fd, bytes + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) err = n < 0 ? errno : EIO;
      else done += size_t(n);
    }
    return size;
  };
  std::string torch_error;
  try {
    archive.save_to(write_all);
  } catch (const c10::Error& e) {
    torch_error = torch_reason(e);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) throw IoError(with_system_reason(out.final_path() + ": cannot write", err));
  if (!torch_error.empty()) throw IoError(out.final_path() + ": cannot write (" + torch_error + ")");
}

void atomic_save(torch::serialize::OutputArchive& archive, const std::string& path) {
  AtomicFile out(path);
  save_archive(archive, out);
  out.commit();
}

// Saves a checkpoint over `path` and keeps the one it replaces as `previous`: a checkpoint damaged after
// the fact (a disk error, a copy cut short) leaves the one before it to resume from. The replaced file
// becomes `previous` by a hard link renamed into place, so a checkpoint is under `path` at every moment.
void save_checkpoint_keeping_previous(torch::serialize::OutputArchive& archive, const std::string& path,
                                      const std::string& previous) {
  AtomicFile out(path);
  save_archive(archive, out);
  if (fs::exists(path)) {
    const std::string staged = previous + temp_marker() + std::to_string(::getpid());
    std::remove(staged.c_str());
    if (::link(path.c_str(), staged.c_str()) == 0) {
      if (std::rename(staged.c_str(), previous.c_str()) != 0) {
        const int err = errno;
        std::remove(staged.c_str());
        throw IoError(with_system_reason(previous + ": cannot keep the previous checkpoint", err));
      }
    } else if (std::rename(path.c_str(), previous.c_str()) != 0) {  // a file system without hard links
      throw IoError(with_system_reason(previous + ": cannot keep the previous checkpoint", errno));
    }
  }
  out.commit();
}

// What a checkpoint holds, read in full before anything is applied, so that an unreadable file changes
// nothing and the run can fall back to another.
struct CheckpointArchive {
  torch::serialize::InputArchive model, ema, optimizer;
  int64_t step = 0;
  torch::Tensor curve;
};

// Reads `path`; on failure returns false with the reason.
bool read_checkpoint(const std::string& path, const torch::Device& device, CheckpointArchive& c, std::string& reason) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    archive.read("model", c.model);
    archive.read("ema", c.ema);
    archive.read("optimizer", c.optimizer);
    torch::Tensor s;
    archive.read("step", s);
    archive.read("curve", c.curve);
    c.step = s.item<int64_t>();
    c.curve = c.curve.to(torch::kCPU);
    if (c.curve.dim() != 2 || c.curve.size(0) != c.step) {
      reason = "its training curve has " + std::to_string(c.curve.size(0)) + " rows for step " + std::to_string(c.step);
      return false;
    }
    return true;
  } catch (const c10::Error& e) {
    reason = torch_reason(e);
  } catch (const std::exception& e) {
    reason = e.what();
  }
  return false;
}

}  // namespace

// ---- timesteps and the run log --------------------------------------------------------------------

TimestepDraw draw_training_timesteps(int64_t batch, int64_t frames, int64_t num_timesteps, double ptss_p,
                                     at::Generator& gen) {
  TimestepDraw out;
  const double u = torch::rand({1}, gen).item<double>();
  out.per_frame = frames > 1 && u < ptss_p;
  if (out.per_frame) out.t = torch::randint(num_timesteps, {batch, frames}, gen, torch::kLong);
  else out.t = torch::randint(num_timesteps, {batch, 1}, gen, torch::kLong).expand({batch, frames}).contiguous();
  return out;
}

namespace {
void append_run_log(const std::string& dir, int64_t from, int64_t to) {
  const std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::ofstream log(fs::path(dir) / "runs.log", std::ios::app);
  log << "{\"from_step\": " << from << ", \"to_step\": " << to << ", \"started\": \"" << when << "\"}\n";
}
}  // namespace

// ---- threads ------------------------------------------------------------------------------------

void limit_blas_threads() {
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
}

void set_compute_threads(int threads) {
  const int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  limit_blas_threads();
}

// ---- weights files ------------------------------------------------------------------------------

void save_weights(VideoUNet& model, const std::string& path) {
  torch::serialize::OutputArchive archive;
  model->save(archive);
  archive.write("unet_config", c10::IValue(model->config().to_json().dump()));
  atomic_save(archive, path);
}

std::string previous_checkpoint_path(const std::string& dir) {
  return (fs::path(dir) / "checkpoint.prev.pt").string();
}

std::string ema_snapshot_path(const std::string& dir, int64_t step) {
  return (fs::path(dir) / ("ema-step" + std::to_string(step) + ".pt")).string();
}

void load_weights(VideoUNet& model, const std::string& path) {
  if (!fs::exists(path)) throw IoError(path + ": no such weights file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::Device(torch::kCPU));  // snapshots saved mid-training may hold GPU tensors
    model->load(archive);
  } catch (const c10::Error& e) {
    throw IoError(path + ": cannot load weights into this UNet (" + std::string(e.what_without_backtrace()) + ")");
  }
}

// ---- training -----------------------------------------------------------------------------------

TrainResult train_unet(VideoUNet& model, VideoUNet& ema, const ClipSource& data, Prediction prediction,
                       const std::vector<double>& alphas_cumprod, const TrainConfig& cfg,
                       const TrainOptions& options) {
  const auto t_start = std::chrono::steady_clock::now();
  ThreadScope threads(options.threads);
  SignalScope signals;
  fs::create_directories(options.dir);
  const std::string ckpt_path = (fs::path(options.dir) / "checkpoint.pt").string();
  const std::string prev_path = previous_checkpoint_path(options.dir);
  const std::string curves_path = (fs::path(options.dir) / "curves.h5").string();
  remove_stale_temp_files(options.dir);

  const torch::Device device(options.device);
  const bool cuda = device.is_cuda();
  const UNetConfig& ucfg = model->config();

  // The training split, held as uint8 [N, F, H, W, 3].
  const size_t n_clips = data.size();
  if (n_clips == 0) throw ConfigError("backbone training: the training split is empty");
  const Clip first = data.get(0);
  const int64_t Fr = first.video.frames, H = first.video.height, W = first.video.width;
  auto pixels = torch::empty({int64_t(n_clips), Fr, H, W, 3}, torch::kUInt8);
  std::vector<int64_t> labels(n_clips, -1);
  std::vector<std::string> captions(n_clips);
  for (size_t i = 0; i < n_clips; ++i) {
    const Clip c = i == 0 ? first : data.get(i);
    if (c.video.frames != Fr || c.video.height != H || c.video.width != W)
      throw ConfigError("backbone training: clip " + c.id + " has a different shape from clip " + first.id);
    std::memcpy(pixels[int64_t(i)].data_ptr<uint8_t>(), c.video.data.data(), c.video.data.size());
    labels[i] = c.label;
    captions[i] = c.caption;
  }
  if (ucfg.conditioning == "class")
    for (size_t i = 0; i < n_clips; ++i)
      if (labels[i] < 0 || labels[i] >= ucfg.num_classes)
        throw ConfigError("backbone training: class conditioning, but clip " + std::to_string(i) + " has label " +
                          std::to_string(labels[i]));
  auto labels_t = torch::tensor(labels, torch::kLong);

  const int64_t T = int64_t(alphas_cumprod.size());
  auto ac = torch::tensor(alphas_cumprod, torch::kFloat64).to(torch::kFloat32);
  NoiseInitPtr noise;
  for (const auto& spec : TrainConfig::params())  // registers the built-in noise inits too
    if (spec.name == "noise")
      noise = noise_registry().make_resolved(resolve_nested(cfg.noise, spec, "backbone.train.noise"),
                                             "backbone.train.noise");
  // Single frames have nothing to correlate: the image stage draws i.i.d. noise whatever the recipe's
  // video noise (AR(1) of one frame is the same draw), so its checkpoint is shared by every noise variant.
  const NoiseInitPtr image_noise = noise_registry().make("iid", Json::object(), "backbone.train.noise");
  const TrainingObjective objective(cfg.loss);
  // Seed 002's motion score per clip, for the loss terms that weight by it.
  // Motion-adaptive temporal blocks (UNetConfig::temporal_placement cascaded) read it as their input.
  const bool motion_input = ucfg.adaptive_up();
  const torch::Tensor motion = objective.needs_motion() || motion_input
                                   ? normalised_motion(raw_motion(pixels)).to(torch::kFloat32)
                                   : torch::Tensor();
  const std::vector<TrainingStage> stages = training_stages(cfg.image_pretrain_steps, cfg.steps, cfg.trainable);

  model->to(device);
  ema->to(device);
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) params.push_back(p);
  // AdamW, clipping and the EMA as single passes over all parameters (fused_updates.h); the optimizer
  // state and its checkpoint format are LibTorch's AdamW's.
  FusedAdamW optimizer(params, torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay));
  const std::vector<torch::Tensor> ema_params = ema->parameters();
  // On a CPU each compute thread runs its own shard of the batch (sharded_forward.h).
  ShardedForward shards(model, at::get_num_threads());

  const int64_t total = cfg.image_pretrain_steps + cfg.steps;
  int64_t step = 0;
  std::vector<CurveRow> curve;
  TrainResult result;
  // The checkpoint to resume from: checkpoint.pt, or when it is unreadable (damaged after it was
  // written) the previous one, or nothing. Which of them, and why, is one log line.
  CheckpointArchive resume;
  std::string resume_path;
  if (fs::exists(ckpt_path)) {
    std::string reason;
    if (read_checkpoint(ckpt_path, device, resume, reason)) {
      resume_path = ckpt_path;
    } else {
      // Moved aside, so that the next checkpoint does not keep it as the previous one.
      const std::string aside = ckpt_path + ".corrupt";
      std::error_code ec;
      fs::rename(ckpt_path, aside, ec);
      std::string why;
      const std::string what = ckpt_path + " is unreadable (" + reason + ")" + (ec ? "" : ", moved to " + aside);
      if (fs::exists(prev_path) && read_checkpoint(prev_path, device, resume, why)) {
        resume_path = prev_path;
        log_warn("backbone training: " + what + "; resuming from the previous checkpoint " + prev_path + " at step " +
                 std::to_string(resume.step) + "/" + std::to_string(total));
      } else {
        log_warn("backbone training: " + what + " and " +
                 (fs::exists(prev_path) ? "so is the previous checkpoint " + prev_path + " (" + why + ")"
                                        : "there is no previous checkpoint") +
                 "; training from scratch");
      }
    }
  } else if (fs::exists(prev_path)) {
    // Only on a file system without hard links can a run stop between keeping the previous checkpoint
    // and renaming the new one into place.
    std::string why;
    if (read_checkpoint(prev_path, device, resume, why)) {
      resume_path = prev_path;
      log_warn("backbone training: no " + ckpt_path + "; resuming from the previous checkpoint " + prev_path +
               " at step " + std::to_string(resume.step) + "/" + std::to_string(total));
    }
  }
  if (!resume_path.empty()) {
    try {
      model->load(resume.model);
      ema->load(resume.ema);
      optimizer.load(resume.optimizer);
    } catch (const c10::Error& e) {
      throw IoError(resume_path + ": a checkpoint of another network, cannot resume from it (" + torch_reason(e) +
                    "); remove it to train from scratch");
    }
    step = resume.step;
    curve = curve_rows(resume.curve);
    result.resumed_from = step;
    if (resume_path == ckpt_path)
      log_info("backbone training: resuming from " + ckpt_path + " at step " + std::to_string(step) + "/" +
               std::to_string(total));
  } else {
    copy_parameters(model, ema);
  }
  int64_t last_saved = step;
  if (step < total) append_run_log(options.dir, step, total);

  auto save_checkpoint = [&] {
    torch::serialize::OutputArchive archive, m, e, o;
    model->save(m);
    ema->save(e);
    optimizer.save(o);
    archive.write("model", m);
    archive.write("ema", e);
    archive.write("optimizer", o);
    archive.write("step", torch::tensor(step, torch::kLong));
    archive.write("curve", curve_tensor(curve));
    save_checkpoint_keeping_previous(archive, ckpt_path, prev_path);
    last_saved = step;
  };

  const TrainingStage* current = nullptr;
  Progress progress("train backbone", total);
  double loss_avg = 0;
  while (step < total) {
    const TrainingStage* stage = &stages.front();
    for (const auto& s : stages)
      if (step >= s.begin && step < s.end) stage = &s;
    if (stage != current) {
      current = stage;
      model->set_trainable(stage->trainable);
    }
    const bool image_stage = stage->images;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(step_seed(options.seed, step));

    // The batch: B videos, or B * F single frames in the image stage.
    torch::Tensor x0, batch_labels, clip_idx;
    std::vector<std::string> batch_captions;
    int64_t B, Fb;
    if (image_stage) {
      B = cfg.batch_size * Fr;
      Fb = 1;
      clip_idx = torch::randint(int64_t(n_clips), {B}, gen, torch::kLong);
      auto frame_idx = torch::randint(Fr, {B}, gen, torch::kLong);
      x0 = pixels.index({clip_idx, frame_idx}).unsqueeze(1);  // [B, 1, H, W, 3]
    } else {
      B = cfg.batch_size;
      Fb = Fr;
      clip_idx = torch::randint(int64_t(n_clips), {B}, gen, torch::kLong);
      x0 = pixels.index({clip_idx});
    }
    batch_labels = labels_t.index({clip_idx});
    for (int64_t i = 0; i < B; ++i) batch_captions.push_back(captions[size_t(clip_idx[i].item<int64_t>())]);
    // [B, 3, F, H, W], made contiguous while still bytes (the network would copy it as floats).
    x0 = x0.permute({0, 4, 1, 2, 3}).contiguous().to(torch::kFloat32).div_(127.5).sub_(1.0);

    // Timesteps: PTSS draws one t per frame for the whole batch with probability p.
    const torch::Tensor t = draw_training_timesteps(B, Fb, T, cfg.ptss_p, gen).t;
    auto eps = (image_stage ? image_noise : noise)->draw({B, ucfg.in_channels, Fb, H, W}, gen,
                                                          torch::TensorOptions().dtype(torch::kFloat32));
    // Condition dropout for classifier-free guidance.
    auto drop = torch::rand({B}, gen) < cfg.cond_dropout;
    batch_labels = torch::where(drop, torch::full_like(batch_labels, -1), batch_labels);
    for (int64_t i = 0; i < B; ++i)
      if (drop[i].item<bool>()) batch_captions[size_t(i)] = blank_caption();

    auto act = ac.index({t.reshape({-1})}).reshape({B, 1, Fb, 1, 1});
    auto alpha = act.sqrt(), sigma = (1 - act).sqrt();
    auto xt = alpha * x0 + sigma * eps;
    torch::Tensor target = prediction == Prediction::eps ? eps : prediction == Prediction::v ? alpha * eps - sigma * x0 : x0;

    LossInputs in;
    in.prediction = prediction;
    in.xt = xt.to(device);
    in.target = target.to(device);
    in.x0 = x0.to(device);
    in.eps = eps.to(device);
    in.alpha = alpha.to(device);
    in.sigma = sigma.to(device);
    in.t = t.to(device);
    if (motion.defined()) in.motion = motion.index({clip_idx}).to(device);
    auto tt = t.to(torch::kFloat32).to(device);
    auto lab = ucfg.conditioning == "class" ? batch_labels.to(device) : torch::Tensor();
    ForwardOptions forward_options;
    if (motion_input) forward_options.motion = in.motion;

    const double warm = cfg.warmup_steps > 0 ? std::min(1.0, double(step + 1) / double(cfg.warmup_steps)) : 1.0;
    const double lr = cfg.lr * warm;
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    for (auto& p : params) p.mutable_grad() = torch::Tensor();

    if (cuda) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      in.output = model->forward(in.xt, tt, lab, batch_captions, forward_options).prediction;
      at::autocast::clear_cache();
      at::autocast::set_enabled(false);
      in.output = in.output.to(torch::kFloat32);
    } else {
      in.output = shards.forward(in.xt, tt, lab, batch_captions, forward_options);
    }
    const torch::Tensor loss = objective.loss(in, stage->loss_terms).total;
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      const int64_t bad = in.output.numel() - torch::isfinite(in.output).sum().item<int64_t>();
      throw non_finite_training_loss(
          "backbone", step + 1, total, loss_value,
          "the model output has " + std::to_string(bad) + " non-finite values of " + std::to_string(in.output.numel()),
          last_saved > 0 ? "; the last good checkpoint (step " + std::to_string(last_saved) + ") is kept at " + ckpt_path
                         : "; no checkpoint was written yet");
    }
    loss.backward();
    shards.backward(in.output);
    double grad_norm = 0;
    if (cfg.grad_clip > 0) grad_norm = optimizer.clip_grad_norm(cfg.grad_clip);
    optimizer.step();
    ema_update(ema_params, params, std::min(cfg.ema, double(1 + step) / double(10 + step)));
    ++step;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    curve.push_back({double(step), loss_value, lr, grad_norm, image_stage ? 0.0 : 1.0, secs});
    loss_avg = step == result.resumed_from + 1 ? loss_value : 0.98 * loss_avg + 0.02 * loss_value;
    char detail[96];
    std::snprintf(detail, sizeof detail, "loss %.4f  %s", loss_avg, image_stage ? "images" : "videos");
    progress.update(step, detail);
    if (options.after_step) options.after_step(step, loss_value);

    const int sig = g_signal.exchange(0);
    const bool regular = cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0;
    // The snapshot first: a checkpoint at step s promises everything up to s, so a kill between the two
    // writes must not leave a checkpoint that resumes past a snapshot never written.
    if (regular && options.keep_ema_snapshots) save_weights(ema, ema_snapshot_path(options.dir, step));
    if (regular || sig != 0) save_checkpoint();
    if (sig == SIGTERM || sig == SIGUSR2) {
      write_curves(curves_path, curve);
      throw TrainingInterrupted(std::string("backbone training stopped by ") +
                                (sig == SIGTERM ? "SIGTERM" : "SIGUSR2 (the time limit is near)") + " at step " +
                                std::to_string(step) + " of " + std::to_string(total) + "; checkpoint saved to " +
                                ckpt_path + " (the same command resumes)");
    }
    if (sig == SIGUSR1) log_info("backbone training: checkpoint at step " + std::to_string(step) + " (SIGUSR1)");
    result.final_loss = loss_value;
  }
  if (last_saved != step || !fs::exists(ckpt_path)) save_checkpoint();
  write_curves(curves_path, curve);
  progress.finish();
  model->eval();
  ema->eval();
  result.steps_done = step;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return result;
}

}  // namespace vdlab
