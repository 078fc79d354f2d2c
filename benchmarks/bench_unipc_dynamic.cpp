// UniPC-Dynamic's overhead (seed 000 claims +2 / +5 / +8 % computation for Safe / Balanced / Dynamic over
// UniPC): each mode's whole generation (20 UniPC steps, order 2 bh2, a batch of the paper experiment's
// shape [16, 3, 8, 32, 32] through the demo backbone's architecture, the "tiny" unet) against plain UniPC
// in one run. The network's weights are its initialisation: the cost of a forward does not depend on them.
//
// Timing: process CPU time (CLOCK_PROCESS_CPUTIME_ID) on one LibTorch / OpenBLAS thread, the variants
// interleaved round by round so that load on a shared machine falls on all of them alike; the summary
// gives each variant's median and its ratio to UniPC's median. Google Benchmark's own table follows the
// same cases (wall time). The modes run without the hook's measurements (`measure: false`), which are
// vdlab's instrumentation, not the method; "dynamic+measure" shows their cost. VDLAB_BENCH_ROUNDS sets the rounds of the summary (default 7).
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "methods/backbone/unet.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/method.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {
namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Case {
  const char* label;
  const char* method;
  Json params;
};

const Json kSampler = {{"name", "unipc"}, {"order", 2}, {"variant", "bh2"}, {"steps", 20}};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"unipc", "uniform", {{"sampler", kSampler}}},
      {"safe", "unipc-dynamic", {{"sampler", kSampler}, {"mode", "safe"}, {"measure", false}}},
      {"balanced", "unipc-dynamic", {{"sampler", kSampler}, {"mode", "balanced"}, {"measure", false}}},
      {"dynamic", "unipc-dynamic", {{"sampler", kSampler}, {"mode", "dynamic"}, {"measure", false}}},
      // With the measurements the paper experiment records (edit norm, attenuation): their own cost.
      {"dynamic+measure", "unipc-dynamic", {{"sampler", kSampler}, {"mode", "dynamic"}}},
  };
  return c;
}

Backbone& demo_backbone() {
  static UNetBackbone* backbone = [] {
    UNetConfig cfg = UNetConfig::preset("tiny");
    cfg.in_channels = 3;
    cfg.out_channels = 3;
    VideoUNet net(cfg);
    net->eval();
    return new UNetBackbone(net.ptr(), Prediction::x0, NoiseSchedule::linear().to_config(), Json{{"name", "unet"}});
  }();
  return *backbone;
}

GenerateRequest request() {
  GenerateRequest r;
  r.count = 16;
  r.batch_size = 16;
  r.frames = 8;
  r.height = r.width = 32;
  return r;
}

// One generation; returns the seconds the hook spent editing (0 for plain UniPC).
double generate_once(const Case& c) {
  register_builtin_methods();
  const MethodPtr m = method_registry().make(c.method, c.params, c.label);
  at::NoGradGuard no_grad;
  const GenerateResult r = m->generate(demo_backbone(), request());
  return r.stats.contains("edit") ? r.stats.at("edit").at("edit_seconds").get<double>() : 0.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace vdlab

int main(int argc, char** argv) {
  at::set_num_threads(1);
  if (auto set_blas = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set_blas(1);
  for (const vdlab::Case& c : vdlab::cases())
    benchmark::RegisterBenchmark(c.label, [&c](benchmark::State& s) {
      for (auto _ : s) vdlab::generate_once(c);
    })->Unit(benchmark::kMillisecond)->Iterations(2);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();

  const char* env = std::getenv("VDLAB_BENCH_ROUNDS");
  const int rounds = env ? std::max(1, std::atoi(env)) : 7;
  const size_t n = vdlab::cases().size();
  std::vector<std::vector<double>> total(n), edit(n);
  for (const vdlab::Case& c : vdlab::cases()) vdlab::generate_once(c);  // warm-up
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < n; ++i) {
      const double start = vdlab::cpu_seconds();
      edit[i].push_back(vdlab::generate_once(vdlab::cases()[i]));
      total[i].push_back(vdlab::cpu_seconds() - start);
    }
  std::printf("\nUniPC order 2 bh2, 20 steps, batch [16, 3, 8, 32, 32], tiny unet, 1 thread, process CPU time, "
              "median of %d interleaved rounds\n", rounds);
  const double base = vdlab::median(total[0]);
  for (size_t i = 0; i < n; ++i) {
    const double t = vdlab::median(total[i]);
    std::printf("%-16s %8.3f s  ratio to unipc %.4f (%+.1f%%)  edits %.3f s wall\n", vdlab::cases()[i].label, t,
                t / base, 100.0 * (t / base - 1.0), vdlab::median(edit[i]));
  }
  return 0;
}
