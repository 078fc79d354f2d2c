// Training speed of the tiny space-time UNet, C++ (LibTorch) against Python torch side by side:
// the same architecture (scripts/bench/train_tiny.py mirrors methods/backbone/unet.cpp), the same step
// (per-frame timesteps, eps target, MSE, AdamW, gradient clipping, EMA), the same thread count and BLAS.
//
// usage: bench_train_tiny [--threads N] [--steps N] [--batch B] [--frames F] [--size S] [--python PATH]
// Prints a table with steps per second of both: the C++ bare step twice, with each operation threaded (as
// Python runs it) and with the batch sharded over the threads (methods/backbone/sharded_forward.h, as
// training runs on a CPU), and the full C++ training loop (train_unet: data, noise, PTSS, the loss terms,
// after its warm-up steps); then the achieved GFLOP/s of a step (3x the forward FLOPs that
// torch.profiler counts on the Python side) against this machine's ceiling measured in the same run:
// a 3x3 convolution and a GEMM (its im2col product) of the model's own sizes.
// Run it on an otherwise idle machine: under load both sides slow unevenly.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "core/log.h"
#include "datasets/clip_source.h"
#include "methods/backbone/sharded_forward.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet.h"
#include "methods/training/fused_updates.h"
#include "methods/schedules/noise_schedule.h"

using namespace vdlab;

namespace {

// Random-pixel clips: the speed of a step does not depend on what the pixels show.
class NoiseClips : public ClipSource {
 public:
  NoiseClips(int n, int frames, int size) : n_(n), frames_(frames), size_(size) {}
  std::size_t size() const override { return std::size_t(n_); }
  Clip get(std::size_t i) const override {
    Clip c;
    c.id = std::to_string(i);
    c.video = Video(frames_, size_, size_);
    uint32_t s = uint32_t(i) * 2654435761u + 1;
    for (auto& b : c.video.data) {
      s = s * 1664525u + 1013904223u;
      b = uint8_t(s >> 24);
    }
    return c;
  }
  Json describe() const override { return Json{{"name", "bench-noise"}}; }

 private:
  int n_, frames_, size_;
};

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  return out;
}

// GFLOP/s of `op` (flops per call), its median over repeated timed batches of calls.
template <class Op>
double gflops_of(Op op, double flops) {
  for (int i = 0; i < 3; ++i) op();
  std::vector<double> rates;
  for (int r = 0; r < 5; ++r) {
    int calls = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double secs = 0;
    do {
      op();
      ++calls;
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (secs < 0.2);
    rates.push_back(flops * calls / secs / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  int steps = 20, batch = 8, frames = 16, size = 32, warmup = 3;
  std::string python = "/usr/bin/python3";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--threads") threads = std::atoi(v);
    else if (a == "--steps") steps = std::atoi(v);
    else if (a == "--batch") batch = std::atoi(v);
    else if (a == "--frames") frames = std::atoi(v);
    else if (a == "--size") size = std::atoi(v);
    else if (a == "--python") python = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  set_compute_threads(threads);
  const UNetConfig cfg = UNetConfig::preset("tiny");

  // 1. The bare step, exactly as the Python side does it.
  torch::manual_seed(0);
  VideoUNet model(cfg);
  std::vector<torch::Tensor> ema;
  for (auto& p : model->parameters()) ema.push_back(p.detach().clone());
  // vdlab's optimizer, clipping and EMA (methods/training/fused_updates.h), as train_unet runs them: the
  // arithmetic of the Python side's AdamW, clip_grad_norm_ and per-tensor EMA, one pass each.
  FusedAdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  const std::vector<torch::Tensor> model_params = model->parameters();
  const auto sched = NoiseSchedule::linear();
  auto ac = torch::tensor(sched.alphas_cumprod, torch::kFloat64).to(torch::kFloat32);
  auto x0 = torch::rand({64, 3, frames, size, size}) * 2 - 1;
  int64_t params = 0;
  for (auto& p : model->parameters()) params += p.numel();
  // The bare step with the network's operations each threaded (as the Python side runs it), or with the
  // batch split into one shard per thread (ShardedForward, as train_unet runs it on a CPU).
  ShardedForward shards(model, threads);
  auto step = [&](bool sharded) {
    auto idx = torch::randint(64, {batch}, torch::kLong);
    auto x = x0.index({idx});
    auto t = torch::randint(1000, {batch, 1}, torch::kLong).expand({batch, frames});
    auto eps = torch::randn_like(x);
    auto act = ac.index({t.reshape({-1})}).reshape({batch, 1, frames, 1, 1});
    auto xt = act.sqrt() * x + (1 - act).sqrt() * eps;
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    if (sharded) {
      auto out = shards.forward(xt, t.to(torch::kFloat32), {}, {});
      torch::mse_loss(out, eps).backward();
      shards.backward(out);
    } else {
      torch::mse_loss(model->forward(xt, t.to(torch::kFloat32), {}, {}).prediction, eps).backward();
    }
    opt.clip_grad_norm(1.0);
    opt.step();
    ema_update(ema, model_params, 0.999);
  };
  for (int i = 0; i < warmup; ++i) {
    step(false);
    step(true);
  }
  // The two forms take turns in rounds, so that a change in the machine's load falls on both alike.
  const int rounds = std::max(1, std::min(4, steps));
  double cpp_secs = 0, sharded_secs = 0;
  for (int r = 0; r < rounds; ++r) {
    const int n = steps / rounds + (r < steps % rounds ? 1 : 0);
    for (const bool sharded : {false, true}) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) step(sharded);
      (sharded ? sharded_secs : cpp_secs) += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }

  // 2. The full training loop (data, AR(1)-capable noise, PTSS, EMA, checkpoint at the end).
  const auto dir = std::filesystem::temp_directory_path() / ("vdlab-bench-train-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  NoiseClips data(64, frames, size);
  TrainConfig tc;
  tc.steps = steps + warmup;
  tc.batch_size = batch;
  tc.checkpoint_every = 0;
  TrainOptions to;
  to.dir = dir.string();
  to.threads = threads;
  // Timed from the end of the warm-up steps to the end of the last step: loading the data and the final
  // checkpoint are not steps.
  std::chrono::steady_clock::time_point loop_start, loop_end;
  to.after_step = [&](int64_t s, double) {
    if (s == warmup) loop_start = std::chrono::steady_clock::now();
    loop_end = std::chrono::steady_clock::now();
  };
  set_log_level(LogLevel::warn);
  torch::manual_seed(0);
  VideoUNet m2(cfg), e2(cfg);
  const TrainResult tr = train_unet(m2, e2, data, Prediction::eps, sched.alphas_cumprod, tc, to);
  std::filesystem::remove_all(dir);
  at::set_num_threads(threads);

  // 3. Python torch, same architecture and step.
  // OpenBLAS pinned to one thread on both sides (set_compute_threads does it for C++).
  const std::string cmd = "OPENBLAS_NUM_THREADS=1 " + python + " " VDLAB_SOURCE_DIR "/scripts/bench/train_tiny.py --config '" +
                          cfg.to_json().dump() + "' --batch " + std::to_string(batch) + " --frames " +
                          std::to_string(frames) + " --size " + std::to_string(size) + " --steps " +
                          std::to_string(steps) + " --warmup " + std::to_string(warmup) + " --threads " +
                          std::to_string(threads);
  struct PythonSide {
    double sps = NAN, forward_flops = NAN;
    int64_t params = -1;
    std::string blas = "?";
  };
  auto run_python = [&](const std::string& prefix) {
    PythonSide side;
    const std::string out = run_capture(prefix + cmd);
    try {
      const Json j = Json::parse(out.substr(out.find('{')));
      side.sps = j.at("steps_per_second").get<double>();
      side.params = j.at("parameters").get<int64_t>();
      side.blas = j.at("blas").get<std::string>();
      if (j.value("forward_flops", 0.0) > 0) side.forward_flops = j.at("forward_flops").get<double>();
    } catch (const std::exception&) {
      std::fprintf(stderr, "python side failed: %s%s\n%s\n", prefix.c_str(), cmd.c_str(), out.c_str());
    }
    return side;
  };
  // Python as installed (glibc's malloc), and with the allocator vdlab links preloaded: the second row
  // separates the allocator's share of the difference from the rest.
  const PythonSide py = run_python("");
  const char* tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
  const PythonSide py_tc = std::filesystem::exists(tcmalloc) ? run_python(std::string("LD_PRELOAD=") + tcmalloc + " ")
                                                             : PythonSide{};
  const double py_sps = py.sps, forward_flops = py.forward_flops;
  const int64_t py_params = py.params;
  const std::string py_blas = py.blas;

  const double cpp_sps = steps / cpp_secs, sharded_sps = steps / sharded_secs;
  const double loop_sps = double(tr.steps_done - warmup) / std::chrono::duration<double>(loop_end - loop_start).count();
  std::printf("tiny UNet training, batch %d x %d frames at %dx%d, %d threads, %d timed steps (+%d warm-up)\n", batch,
              frames, size, size, threads, steps, warmup);
  std::printf("%-34s %12s %12s %12s\n", "side", "steps/s", "s/step", "parameters");
  std::printf("%-34s %12.3f %12.3f %12lld\n", "C++ LibTorch (bare step)", cpp_sps, 1.0 / cpp_sps, (long long)params);
  std::printf("%-34s %12.3f %12.3f %12lld\n", "C++ LibTorch (bare step, sharded)", sharded_sps, 1.0 / sharded_sps,
              (long long)params);
  std::printf("%-34s %12.3f %12.3f %12lld\n", "C++ LibTorch (train_unet loop)", loop_sps, 1.0 / loop_sps,
              (long long)params);
  std::printf("%-34s %12.3f %12.3f %12lld   (blas: %s)\n", "Python torch (same step)", py_sps, 1.0 / py_sps,
              (long long)py_params, py_blas.c_str());
  if (std::isfinite(py_tc.sps))
    std::printf("%-34s %12.3f %12.3f %12lld\n", "Python torch + tcmalloc preloaded", py_tc.sps, 1.0 / py_tc.sps,
                (long long)py_tc.params);
  std::printf("C++ / Python (bare step): %.2fx", cpp_sps / py_sps);
  if (std::isfinite(py_tc.sps)) std::printf("   (against Python + tcmalloc: %.2fx)", cpp_sps / py_tc.sps);
  std::printf("\nC++ / Python (bare step, sharded): %.2fx", sharded_sps / py_sps);
  if (std::isfinite(py_tc.sps)) std::printf("   (against Python + tcmalloc: %.2fx)", sharded_sps / py_tc.sps);
  std::printf("\nC++ / Python (train_unet loop): %.2fx", loop_sps / py_sps);
  if (std::isfinite(py_tc.sps)) std::printf("   (against Python + tcmalloc: %.2fx)", loop_sps / py_tc.sps);
  std::printf("\n");

  // 4. The ceiling at the model's sizes: its first level's 3x3 convolution over every frame of the batch,
  // and the same product as one GEMM (im2col: [B F h w, 9 C] x [9 C, C]).
  {
    torch::NoGradGuard g;
    const int64_t n = int64_t(batch) * frames, c = cfg.base_channels, hw = size / cfg.patch;
    const double conv_flops = 2.0 * double(n) * c * c * 9 * hw * hw;
    auto xin = torch::randn({n, c, hw, hw});
    auto w = torch::randn({c, c, 3, 3});
    const double conv = gflops_of([&] { (void)torch::conv2d(xin, w, {}, 1, 1); }, conv_flops);
    auto a = torch::randn({n * hw * hw, 9 * c});
    auto b = torch::randn({9 * c, c});
    const double gemm = gflops_of([&] { (void)torch::mm(a, b); }, conv_flops);
    const double ceiling = std::max(conv, gemm);
    const double step_flops = 3.0 * forward_flops;
    std::printf("\nceiling at the model's sizes (%lld x %lld ch x %lldx%lld, 3x3): convolution %.1f GFLOP/s, GEMM %.1f GFLOP/s\n",
                (long long)n, (long long)c, (long long)hw, (long long)hw, conv, gemm);
    if (std::isfinite(step_flops)) {
      std::printf("a training step: %.3f GFLOP (3 x the forward's %.3f, counted by torch.profiler)\n", step_flops / 1e9,
                  forward_flops / 1e9);
      std::printf("%-34s %10s %12s\n", "side", "GFLOP/s", "of ceiling");
      std::printf("%-34s %10.1f %11.1f%%\n", "C++ LibTorch (bare step)", step_flops * cpp_sps / 1e9,
                  100.0 * step_flops * cpp_sps / 1e9 / ceiling);
      std::printf("%-34s %10.1f %11.1f%%\n", "C++ LibTorch (bare step, sharded)", step_flops * sharded_sps / 1e9,
                  100.0 * step_flops * sharded_sps / 1e9 / ceiling);
      std::printf("%-34s %10.1f %11.1f%%\n", "C++ LibTorch (train_unet loop)", step_flops * loop_sps / 1e9,
                  100.0 * step_flops * loop_sps / 1e9 / ceiling);
      std::printf("%-34s %10.1f %11.1f%%\n", "Python torch (same step)", step_flops * py_sps / 1e9,
                  100.0 * step_flops * py_sps / 1e9 / ceiling);
    }
  }
  return py_params == params ? 0 : 1;
}
