// The samplers' own arithmetic per step, the denoiser excluded, for a [1, 4, 16, 32, 32] latent, as a
// share of one forward of the demo backbone (the "tiny" preset of the "unet" backbone, 4 channels).
// Target: under 1%. The denoiser returns a fixed tensor, so the time is the sampler's: model-output
// conversion, per-frame coefficients, the update, history and hooks bookkeeping. The fixed output is an
// eps prediction consistent with a fixed clean latent at the first step, and the run is checked to stay
// finite: an inconsistent output drives the sample into overflow and denormals, whose arithmetic is slow
// and would time the wrong thing.
//
// Timing: the machine this runs on is often shared, so the summary runs LibTorch and OpenBLAS on one
// thread each and measures the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), median of repeated
// runs, for both the sampler and the forward: time spent descheduled by other processes does not
// count. Set VDLAB_BENCH_THREADS to use more threads (then wall time is the honest measure).
//
// The UNet lives in methods/backbone/unet_backbone.h; where that file is absent from the tree the
// benchmark reports the sampler times alone.
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <dlfcn.h>

#include <cstdlib>
#include <ctime>
#include <thread>
#include <vector>

#include "methods/samplers/sampler.h"

#if __has_include("methods/backbone/unet_backbone.h")
#include "methods/backbone/unet.h"
#include "methods/backbone/unet_backbone.h"
#define VDLAB_BENCH_HAS_UNET 1
#endif

namespace vdlab {
namespace {

constexpr int64_t kSteps = 20;

// Seconds of CPU time of the process (all threads).
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
const std::vector<int64_t> kShape = {1, 4, 16, 32, 32};

// Median seconds of one forward of the demo backbone (0 when it is not in the tree).
double demo_forward_seconds() {
  static const double seconds = [] {
#ifdef VDLAB_BENCH_HAS_UNET
    UNetConfig cfg = UNetConfig::preset("tiny");
    cfg.in_channels = kShape[1];
    cfg.out_channels = kShape[1];
    VideoUNet net(cfg);
    net->eval();
    UNetBackbone bb(net.ptr(), Prediction::eps, NoiseSchedule::linear().to_config(), Json{{"name", "unet"}});
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn(kShape);
    const at::Tensor t = at::full({kShape[0], kShape[2]}, 500.0);
    for (int i = 0; i < 2; ++i) bb.forward(x, t, Conditioning{});
    std::vector<double> times;
    for (int i = 0; i < 7; ++i) {
      const double start = cpu_seconds();
      bb.forward(x, t, Conditioning{});
      times.push_back(cpu_seconds() - start);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
#else
    return 0.0;
#endif
  }();
  return seconds;
}

void run_sampler(benchmark::State& state, const std::string& name, const Json& params) {
  register_builtin_samplers();
  Json p = params;
  p["steps"] = kSteps;
  const SamplerPtr sampler = sampler_registry().make(name, p, "sampler");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  const at::Tensor noise = at::randn(kShape, gen, at::kFloat);
  const at::Tensor out = noise.clone();  // eps = the initial noise: x0 = (x - sigma eps) / alpha stays tame
  const Denoise fixed = [&](const at::Tensor&, const at::Tensor&) { return out; };
  SampleContext ctx;
  ctx.generator = gen;
  {
    SampleStats stats;
    if (!at::isfinite(sampler->sample(fixed, noise, ctx, stats)).all().item<bool>())
      state.SkipWithError("the benchmark run is not finite");
  }
  for (auto _ : state) {
    SampleStats stats;
    benchmark::DoNotOptimize(sampler->sample(fixed, noise, ctx, stats));
  }
  // Seconds per step (shown with SI prefixes), and the demo backbone's forward for comparison.
  state.counters["s_per_step"] = benchmark::Counter(static_cast<double>(kSteps),
                                                    benchmark::Counter::kIsIterationInvariantRate |
                                                        benchmark::Counter::kInvert);
  const double fwd = demo_forward_seconds();
  if (fwd > 0) state.counters["forward_s"] = fwd;
  state.SetLabel(fwd > 0 ? "share of a tiny-UNet forward in the summary" : "no UNet in this tree: sampler time only");
}

}  // namespace
}  // namespace vdlab

int main(int argc, char** argv) {
  const char* threads = std::getenv("VDLAB_BENCH_THREADS");
  const int n_threads = threads ? std::max(1, std::atoi(threads)) : 1;
  at::set_num_threads(n_threads);
  // OpenBLAS keeps its own thread pool; pin it too when it is the BLAS in use.
  if (auto set_blas = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas(n_threads);
  using vdlab::Json;
  struct Case {
    const char* label;
    const char* name;
    Json params;
  };
  static const std::vector<Case> cases = {
      {"unipc_bh2_order2", "unipc", {{"order", 2}, {"variant", "bh2"}}},
      {"unipc_bh2_order3", "unipc", {{"order", 3}, {"variant", "bh2"}}},
      {"dpmsolver++_2m", "dpmsolver++", {{"order", 2}}},
      {"ddim_eta0", "ddim", {{"eta", 0.0}}},
      {"ddpm", "ddpm", Json::object()},
      {"euler", "euler", Json::object()},
  };
  for (const Case& c : cases)
    benchmark::RegisterBenchmark(c.label, [&c](benchmark::State& s) { vdlab::run_sampler(s, c.name, c.params); })
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();

  // The summary the issue asks for: per-step sampler time as a share of one backbone forward.
  const double fwd = vdlab::demo_forward_seconds();
  std::printf("\nlatent [1, 4, 16, 32, 32], %lld steps, %d thread(s), process CPU time, medians\n", static_cast<long long>(vdlab::kSteps),
              at::get_num_threads());
  if (fwd > 0) std::printf("tiny UNet forward: %.2f ms\n", fwd * 1e3);
  for (const Case& c : cases) {
    vdlab::register_builtin_samplers();
    Json p = c.params;
    p["steps"] = vdlab::kSteps;
    const vdlab::SamplerPtr sampler = vdlab::sampler_registry().make(c.name, p, "sampler");
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
    const at::Tensor noise = at::randn(vdlab::kShape, gen, at::kFloat);
    const at::Tensor out = noise.clone();
    const vdlab::Denoise fixed = [&](const at::Tensor&, const at::Tensor&) { return out; };
    vdlab::SampleContext ctx;
    ctx.generator = gen;
    std::vector<double> times;
    for (int i = 0; i < 25; ++i) {
      vdlab::SampleStats stats;
      const double start = vdlab::cpu_seconds();
      sampler->sample(fixed, noise, ctx, stats);
      times.push_back((vdlab::cpu_seconds() - start) / static_cast<double>(vdlab::kSteps));
    }
    std::sort(times.begin(), times.end());
    const double per_step = times[times.size() / 2];
    if (fwd > 0)
      std::printf("%-18s sampler arithmetic %8.1f us/step = %.3f%% of a forward\n", c.label, per_step * 1e6,
                  100.0 * per_step / fwd);
    else
      std::printf("%-18s sampler arithmetic %8.1f us/step (no UNet in this tree to compare with)\n", c.label,
                  per_step * 1e6);
  }
  return 0;
}
