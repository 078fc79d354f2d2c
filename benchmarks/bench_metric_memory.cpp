// Peak memory of scoring FVD and FID against the number of clips: with streamed video sets (read a batch
// at a time, running statistics) the peak is bounded by the batch, not by the clip count; holding every
// clip (how sets were scored before streaming) grows with it. A benchmark, not a unit test.
//
//   build/benchmarks/bench_metric_memory [--clips 256,512,1024,2048] [--frames 16] [--size 64]
//                                        [--metric fvd|fid] [--held-up-to 512] [--batch 8]
//                                        [--malloc pinned|default]
//
// Each point runs in a child process of its own (this program re-executed with --child), which reports
// its RSS high-water mark (VmHWM, /proc/self/status) after scoring a real and a generated set of N
// synthetic clips each (drawn on demand from the clip index). The extractors are vdlab's scripted test
// modules (tests/fixtures/metrics/extractors: video_extractor.pt as i3d, image_extractor.pt as
// inception), with the standard interfaces, so the numbers measure vdlab's data path, not a network.
// "held" points build the same sets in memory first, for contrast.
//
// Measured (2 shared cores, Debian 12, LibTorch 1.13 CPU; peak RSS in MiB, both sets of N clips):
//   --size 64 --held-up-to 1024          N:   256    512   1024   2048
//     streamed                                202    204    204    210
//     held                                    299    397    593      -
//   --size 256 --clips 256,2048 (the stylegan-v protocol's 2048 clips of 16 x 256 x 256)
//     streamed                                540      -      -    544   (12 GiB of pixels in all)
//     held                                   2054
//   With --malloc default (glibc's dynamic mmap threshold) streamed FVD at 64 x 64 reached 3007 MiB at
//   1024 clips and 4208 MiB at 2048: freed batch buffers stayed in the heap (core/memory.h).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/memory.h"
#include "metrics/metric.h"

namespace {

namespace fs = std::filesystem;

long vm_hwm_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// A moving gradient, different per clip and per set; cheap to draw.
vdlab::Video synthetic_clip(std::size_t index, int frames, int size, int set) {
  vdlab::Video v(frames, size, size);
  for (int f = 0; f < frames; ++f)
    for (int y = 0; y < size; ++y) {
      std::uint8_t* row = v.frame(f) + std::size_t(y) * size * 3;
      for (int x = 0; x < size; ++x) {
        const int shift = int(index % 13) * (set + 1) + f * (2 + set);
        row[3 * x] = std::uint8_t((x + shift) * 255 / (size + 64));
        row[3 * x + 1] = std::uint8_t((y * 3 + int(index) * 7) & 255);
        row[3 * x + 2] = std::uint8_t(((x ^ y) + f * 5 + set * 40) & 255);
      }
    }
  return v;
}

int child(std::size_t clips, int frames, int size, const std::string& metric, bool held, int batch, bool pinned) {
  if (pinned) vdlab::pin_mmap_threshold();  // as the vdlab executable does
  vdlab::set_log_level(vdlab::LogLevel::warn);
  vdlab::register_builtin_metrics();
  const std::string weights = (fs::temp_directory_path() / ("vdlab-bench-memory-weights-" + std::to_string(::getpid()))).string();
  fs::create_directories(weights);
  const std::string fixtures = std::string(VDLAB_SOURCE_DIR) + "/tests/fixtures/metrics/extractors/";
  fs::copy_file(fixtures + "video_extractor.pt", weights + "/i3d_torchscript.pt", fs::copy_options::overwrite_existing);
  fs::copy_file(fixtures + "image_extractor.pt", weights + "/inception-2015-12-05.pt", fs::copy_options::overwrite_existing);
  vdlab::MetricContext ctx;
  ctx.weights_dir = weights;  // no cache folder: the real statistics are computed every time

  auto make = [&](int set) {
    if (!held)
      return vdlab::VideoSet::streamed(clips, [=](std::size_t i) { return synthetic_clip(i, frames, size, set); });
    vdlab::VideoSet s;
    for (std::size_t i = 0; i < clips; ++i) s.videos.push_back(synthetic_clip(i, frames, size, set));
    return s;
  };
  const auto t0 = std::chrono::steady_clock::now();
  const vdlab::VideoSet real = make(0), fake = make(1);
  vdlab::Json params = vdlab::Json::object();
  params["batch"] = batch;
  const auto values = vdlab::metric_registry().make(metric, params, metric)->compute(real, fake, ctx);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::remove_all(weights);
  if (values.empty() || values[0].skipped) {
    std::cerr << metric << ": " << (values.empty() ? "no value" : values[0].skip_reason) << "\n";
    return 1;
  }
  std::cout << vm_hwm_kib() << " " << seconds << " " << values[0].value << "\n";
  return 0;
}

std::vector<std::size_t> parse_list(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) out.push_back(std::stoul(part));
  return out;
}

// Runs one point in a child process; returns its output line.
std::string run_child(std::size_t clips, int frames, int size, const std::string& metric, bool held, int batch,
                      bool pinned) {
  const std::string command = fs::read_symlink("/proc/self/exe").string() + " --child " + std::to_string(clips) + " " +
                              std::to_string(frames) + " " + std::to_string(size) + " " + metric + " " +
                              (held ? "held" : "streamed") + " " + std::to_string(batch) + " " +
                              (pinned ? "pinned" : "default");
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buf[256];
  while (pipe && std::fgets(buf, sizeof buf, pipe)) out += buf;
  const int status = pipe ? pclose(pipe) : -1;
  if (status != 0) return "";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--child" && args.size() == 8)
    return child(std::stoul(args[1]), std::stoi(args[2]), std::stoi(args[3]), args[4], args[5] == "held",
                 std::stoi(args[6]), args[7] == "pinned");
  std::string clips = "256,512,1024,2048", metric = "fvd";
  int frames = 16, size = 64, batch = 8;
  std::size_t held_up_to = 512;
  bool pinned = true;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--clips") clips = args[i + 1];
    else if (args[i] == "--frames") frames = std::stoi(args[i + 1]);
    else if (args[i] == "--size") size = std::stoi(args[i + 1]);
    else if (args[i] == "--metric") metric = args[i + 1];
    else if (args[i] == "--batch") batch = std::stoi(args[i + 1]);
    else if (args[i] == "--held-up-to") held_up_to = std::stoul(args[i + 1]);
    else if (args[i] == "--malloc") pinned = args[i + 1] != "default";
    else {
      std::cerr << "unknown option " << args[i] << "\n";
      return 2;
    }
  }
  const double clip_mib = double(frames) * size * size * 3 / (1024.0 * 1024.0);
  std::printf("%s, %d frames of %dx%d per clip (%.2f MiB of pixels), batch %d; real and generated sets of N clips; "
              "malloc mmap threshold %s\n",
              metric.c_str(), frames, size, size, clip_mib, batch, pinned ? "pinned (as vdlab runs)" : "glibc default");
  std::printf("%-9s %7s %16s %14s %10s\n", "sets", "clips", "pixels (MiB)", "peak RSS (MiB)", "seconds");
  for (const std::size_t n : parse_list(clips))
    for (const bool held : {false, true}) {
      if (held && n > held_up_to) continue;
      const std::string line = run_child(n, frames, size, metric, held, batch, pinned);
      long hwm = -1;
      double seconds = 0, value = 0;
      if (line.empty() || std::sscanf(line.c_str(), "%ld %lf %lf", &hwm, &seconds, &value) != 3) {
        std::printf("%-9s %7zu  failed\n", held ? "held" : "streamed", n);
        continue;
      }
      std::printf("%-9s %7zu %16.0f %14.1f %10.1f\n", held ? "held" : "streamed", n, 2.0 * double(n) * clip_mib,
                  double(hwm) / 1024.0, seconds);
      std::fflush(stdout);
    }
  return 0;
}
