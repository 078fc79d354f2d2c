// Does the tiny backbone learn moving shapes? Trains (or loads from the checkpoint cache) the "unet"
// backbone on a moving-shapes split, samples videos with deterministic DDIM, and compares the motion
// magnitude (mean |I_{f+1} - I_f| over pixels in [0, 1]) of the samples with the real test split's.
// Writes a PNG grid (one row per video, one column per frame) and prints one JSON summary line.
//
// usage: bench_tiny_quality [--backbone JSON] [--dataset JSON] [--cache DIR] [--samples N]
//                           [--ddim-steps N] [--seed S] [--png PATH] [--threads N]
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>

#include "core/log.h"
#include "datasets/clip_source.h"
#include "methods/backbone/register_backbones.h"
#include "methods/backbone/training.h"
#include "methods/schedules/noise_schedule.h"
#include "methods/video_tensor.h"

using namespace vdlab;

namespace {

double motion_magnitude(const std::vector<Video>& videos) {
  double sum = 0;
  size_t n = 0;
  for (const auto& v : videos)
    for (int f = 0; f + 1 < v.frames; ++f) {
      const uint8_t* a = v.frame(f);
      const uint8_t* b = v.frame(f + 1);
      for (size_t i = 0; i < v.frame_size(); ++i) sum += std::abs(int(a[i]) - int(b[i])) / 255.0;
      n += v.frame_size();
    }
  return n ? sum / double(n) : 0.0;
}

void write_grid(const std::vector<Video>& videos, const std::string& path, int scale) {
  const int rows = int(videos.size()), cols = videos[0].frames, h = videos[0].height, w = videos[0].width;
  cv::Mat grid(rows * (h * scale + 2), cols * (w * scale + 2), CV_8UC3, cv::Scalar(128, 128, 128));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      cv::Mat rgb(h, w, CV_8UC3, const_cast<uint8_t*>(videos[size_t(r)].frame(c))), bgr, big;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      cv::resize(bgr, big, cv::Size(w * scale, h * scale), 0, 0, cv::INTER_NEAREST);
      big.copyTo(grid(cv::Rect(c * (w * scale + 2) + 1, r * (h * scale + 2) + 1, w * scale, h * scale)));
    }
  cv::imwrite(path, grid);
}

}  // namespace

int main(int argc, char** argv) {
  Json backbone = Json{{"preset", "tiny"}};
  Json dataset = Json{{"name", "moving-shapes"}, {"clips", 256}, {"frames", 16}, {"size", 32}};
  std::string cache = "bench-cache", png = "tiny_samples.png";
  int samples = 16, ddim_steps = 20, threads = int(std::max(1u, std::thread::hardware_concurrency()));
  uint64_t seed = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::string v = argv[i + 1];
    if (a == "--backbone") backbone = Json::parse(v);
    else if (a == "--dataset") dataset = Json::parse(v);
    else if (a == "--cache") cache = v;
    else if (a == "--samples") samples = std::stoi(v);
    else if (a == "--ddim-steps") ddim_steps = std::stoi(v);
    else if (a == "--seed") seed = std::stoull(v);
    else if (a == "--png") png = v;
    else if (a == "--threads") threads = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  at::set_num_threads(threads);
  limit_blas_threads();
  Json train_cfg = dataset;
  train_cfg["split"] = "train";
  Json test_cfg = dataset;
  test_cfg["split"] = "test";
  auto train = make_dataset(train_cfg);
  auto test = make_dataset(test_cfg);

  BackboneContext ctx;
  ctx.cache_dir = cache;
  ctx.train_data = train;
  ctx.train_data_config = train->describe();
  ctx.seed = seed;
  const auto t0 = std::chrono::steady_clock::now();
  BackbonePtr bb = make_backbone(backbone, ctx);
  const double build_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Deterministic DDIM (eta 0) over `ddim_steps` evenly spaced timesteps.
  const auto sched = NoiseSchedule::from_config(bb->schedule());
  const int64_t T = sched.num_train_timesteps;
  const Clip first = test->get(0);
  const int64_t F = first.video.frames, H = first.video.height, W = first.video.width;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 1000);
  auto x = torch::randn({samples, 3, F, H, W}, gen, torch::TensorOptions());
  Conditioning cond;
  if (bb->conditional()) {
    std::vector<int64_t> labels;
    for (int i = 0; i < samples; ++i) labels.push_back(test->get(size_t(i)).label);
    cond.labels = torch::tensor(labels, torch::kLong);
  }
  const auto t1 = std::chrono::steady_clock::now();
  {
    torch::NoGradGuard guard;
    for (int i = 0; i < ddim_steps; ++i) {
      const int64_t t = int64_t(std::llround(double(T - 1) * double(ddim_steps - 1 - i) / double(ddim_steps - 1) * 1.0));
      const int64_t prev = i + 1 < ddim_steps
                               ? int64_t(std::llround(double(T - 1) * double(ddim_steps - 2 - i) / double(ddim_steps - 1)))
                               : -1;
      const double ac = sched.alphas_cumprod[size_t(t)];
      const double ac_prev = prev >= 0 ? sched.alphas_cumprod[size_t(prev)] : 1.0;
      auto out = bb->forward(x, torch::full({samples, F}, double(t)), cond);
      torch::Tensor x0, eps;
      if (bb->prediction() == Prediction::eps) {
        eps = out;
        x0 = (x - std::sqrt(1 - ac) * eps) / std::sqrt(ac);
      } else if (bb->prediction() == Prediction::v) {
        x0 = std::sqrt(ac) * x - std::sqrt(1 - ac) * out;
        eps = std::sqrt(1 - ac) * x + std::sqrt(ac) * out;
      } else {
        x0 = out;
        eps = (x - std::sqrt(ac) * x0) / std::sqrt(1 - ac);
      }
      x0 = x0.clamp(-1, 1);
      x = std::sqrt(ac_prev) * x0 + std::sqrt(1 - ac_prev) * eps;
    }
  }
  const double sample_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  const auto fake = tensor_to_videos(x);
  std::vector<Video> real;
  for (int i = 0; i < std::min<int>(int(test->size()), 256); ++i) real.push_back(test->get(size_t(i)).video);
  const double mm_fake = motion_magnitude(fake), mm_real = motion_magnitude(real);
  // Per-pixel mean brightness, to tell blank samples from shapes.
  double mean_fake = 0, mean_real = 0;
  for (const auto& v : fake)
    for (auto b : v.data) mean_fake += b / 255.0 / double(v.data.size() * fake.size());
  for (const auto& v : real)
    for (auto b : v.data) mean_real += b / 255.0 / double(v.data.size() * real.size());
  std::vector<Video> grid(fake.begin(), fake.begin() + std::min<size_t>(fake.size(), 8));
  for (int i = 0; i < 4 && i < int(real.size()); ++i) grid.push_back(real[size_t(i)]);
  write_grid(grid, png, 3);
  const Json summary = {{"build_seconds", build_secs},
                        {"sample_seconds", sample_secs},
                        {"ddim_steps", ddim_steps},
                        {"samples", samples},
                        {"motion_generated", mm_fake},
                        {"motion_real", mm_real},
                        {"motion_ratio", mm_fake / mm_real},
                        {"mean_pixel_generated", mean_fake},
                        {"mean_pixel_real", mean_real},
                        {"png", png},
                        {"cache_key", bb->describe().value("cache_key", "")}};
  std::printf("%s\n", summary.dump().c_str());
  return 0;
}
