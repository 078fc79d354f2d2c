#include "runners/metrics_command.h"

#include <ATen/Parallel.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "metrics/metric.h"
#include "metrics/video_sets.h"
#include "runners/cell_runner.h"

namespace vdlab {

namespace po = boost::program_options;

namespace {

const char* kHelp = R"(usage: vdlab metrics --real SRC --fake SRC [--metrics LIST] [options]

Scores a set of generated videos against a set of real ones, without an experiment file.
A source is a folder of video files (.avi .mp4 .mkv .mov .webm ...; sorted by name; a caption for
clip_sim may sit beside a video as <name>.txt) or an HDF5 clip store (.h5).

Metrics (comma-separated; a key in brackets picks the extractor and protocol, as results name them):
  fid                      per-frame FID with inception-2015-12-05.pt from the weights folder
  fid[tiny-inception]      per-frame FID with vdlab's own tiny extractor (trained once, cached)
  fvd                      FVD, stylegan-v protocol, i3d_torchscript.pt from the weights folder
  fvd[i3d/center-crop]     FVD, center-crop protocol
  fvd[tiny-i3d]            FVD with vdlab's own tiny extractor
  clip_sim, fc             CLIP-SIM and frame consistency (clip-vit-b32.pt or ViT-B-32.pt and
                           bpe_simple_vocab_16e6.txt.gz in the weights folder); clip_sim[x100/clamped]
  mm, flow_motion, stability
  (`vdlab list metrics` shows every parameter.)
A metric whose extractor file is missing is reported as skipped with the reason; it is never computed
with another extractor under the same name. scripts/fetch-weights.sh fetches the third-party files.

Reference statistics of the real set are cached (--cache) by its content, the protocol and the extractor
file's SHA-256: a second call with the same real set reuses them; another extractor recomputes them.

Examples:
  vdlab metrics --real data/ucf/test --fake runs/out/samples --metrics fvd,fid,mm
  vdlab metrics --real real.h5 --fake fake.h5 --metrics 'fvd[tiny-i3d],fid[tiny-inception]' --out scores.json

Options)";

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string format_value(const MetricValue& v) {
  if (v.skipped) return "skipped";
  std::ostringstream o;
  o << std::setprecision(6) << v.value;
  return o.str();
}

int run_metrics(const std::vector<std::string>& args) {
  std::string real_src, fake_src, metrics = "fvd,fid,mm,flow_motion,stability", weights, cache, out, device = "cpu";
  int frames = 16, stride = 1, start = 0, size = 0, threads = 0;
  std::size_t limit = 0;
  std::uint64_t seed = 0;
  bool quiet = false;
  po::options_description desc(kHelp);
  desc.add_options()
      ("help,h", "this help")
      ("real", po::value(&real_src), "the reference set: a folder of video files or a .h5 clip store")
      ("fake", po::value(&fake_src), "the generated set: a folder of video files or a .h5 clip store")
      ("metrics,m", po::value(&metrics)->default_value(metrics), "comma-separated metric names or keys")
      ("weights", po::value(&weights), "folder of extractor files (default $VDLAB_WEIGHTS, else <cache>/weights)")
      ("cache", po::value(&cache), "cache folder: reference statistics, tiny extractors "
                                   "(default $VDLAB_CACHE_DIR, else ~/.cache/vdlab)")
      ("out,o", po::value(&out), "also write every value, per-sample values and protocol to this JSON file")
      ("frames", po::value(&frames)->default_value(frames), "frames read from each video file (0 = all)")
      ("stride", po::value(&stride)->default_value(stride), "take every stride-th frame of a video file")
      ("start", po::value(&start)->default_value(start), "first frame read from each video file")
      ("size", po::value(&size)->default_value(size), "resize the shorter side to this and centre-crop (0 = keep)")
      ("limit", po::value(&limit)->default_value(limit), "at most this many videos per set (0 = all)")
      ("seed", po::value(&seed)->default_value(seed), "seed of protocols that draw (FVD's real clip offsets)")
      ("device", po::value(&device)->default_value(device), "cpu or cuda")
      ("threads", po::value(&threads)->default_value(0), "CPU threads for LibTorch; 0 = every core")
      ("quiet,q", po::bool_switch(&quiet), "only warnings, errors and the table");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + " (see vdlab metrics --help)");
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (real_src.empty() || fake_src.empty()) throw ConfigError("--real and --fake are both needed (see vdlab metrics --help)");
  if (quiet) set_log_level(LogLevel::warn);
  at::set_num_threads(threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency())));

  MetricContext ctx;
  ctx.cache_dir = cache.empty() ? default_cache_dir() : cache;
  if (weights.empty()) {
    const char* env = std::getenv("VDLAB_WEIGHTS");
    weights = env && *env ? env : ctx.cache_dir + "/weights";
  }
  ctx.weights_dir = weights;
  ctx.device = device;
  ctx.seed = seed;
  const std::vector<std::string> specs = split_list(metrics);
  if (specs.empty()) throw ConfigError("--metrics: no metric named");

  VideoSourceOptions so;
  so.read.frames = frames;
  so.read.stride = stride;
  so.read.start = start;
  so.read.size = size;
  so.limit = limit;
  log_info("reading " + real_src);
  const VideoSet real = load_video_set(real_src, so);
  log_info("reading " + fake_src);
  const VideoSet fake = load_video_set(fake_src, so);
  log_info(std::to_string(real.videos.size()) + " real and " + std::to_string(fake.videos.size()) +
           " generated videos; weights " + ctx.weights_dir + ", cache " + ctx.cache_dir);

  const std::vector<MetricValue> values = score_video_sets(real, fake, specs, ctx);

  std::size_t width = 6;
  for (const auto& v : values) width = std::max(width, v.key.size());
  std::cout << std::left << std::setw(int(width) + 2) << "metric" << std::setw(12) << "value" << "notes\n";
  for (const auto& v : values) {
    std::string note;
    if (v.skipped) note = v.skip_reason;
    else {
      if (v.protocol.contains("extractor")) note += "extractor sha256 " + v.protocol["extractor"]["sha256"].get<std::string>().substr(0, 12);
      if (v.protocol.contains("reference_stats")) note += ", reference stats " + v.protocol["reference_stats"].get<std::string>();
    }
    std::cout << std::left << std::setw(int(width) + 2) << v.key << std::setw(12) << format_value(v) << note << "\n";
  }
  if (!out.empty()) {
    Json j{{"real", real.source}, {"fake", fake.source}, {"weights_dir", ctx.weights_dir},
           {"cache_dir", ctx.cache_dir}, {"seed", seed}, {"metrics", Json::array()}};
    for (const auto& v : values) j["metrics"].push_back(metric_value_json(v));
    const std::filesystem::path p(out);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    std::ofstream f(out);
    if (!f) throw IoError(out + ": cannot write");
    f << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

Command metrics_command() {
  return {"metrics", "score a set of generated videos against real ones (folders or .h5), no experiment file",
          run_metrics};
}

}  // namespace vdlab
