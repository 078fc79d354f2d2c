#include "runners/metrics_command.h"

#include <ATen/Parallel.h>

#include <array>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "metrics/metric.h"
#include "metrics/video_sets.h"
#include "runners/cell_runner.h"
#include "runners/command_line.h"

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
  fvd[i3d,center-crop]     FVD, center-crop protocol
  fvd[tiny-i3d]            FVD with vdlab's own tiny extractor
  clip_sim, fc             CLIP-SIM and frame consistency (clip-vit-b32.pt or ViT-B-32.pt and
                           bpe_simple_vocab_16e6.txt.gz in the weights folder); clip_sim[x100,clamped]
  mm, flow_motion, stability
  (`vdlab list metrics` shows every parameter.)
A metric whose extractor file is missing is reported as skipped with the reason; it is never computed
with another extractor under the same name. scripts/fetch-weights.sh fetches the third-party files.

Videos are decoded as the metrics read them, a batch at a time: memory does not grow with the set.
An unreadable video file (corrupt, truncated, too short) stops the call with its name, or with
--on-error skip is left out with a warning naming it (the count and names go to --out).

Reference statistics of the real set are cached (--cache) by its content, the protocol and the extractor
file's SHA-256: a second call with the same real set reuses them; another extractor recomputes them.

Examples:
  vdlab metrics --real data/ucf/test --fake runs/out/samples --metrics fvd,fid,mm
  vdlab metrics --real real.h5 --fake fake.h5 --metrics 'fvd[tiny-i3d],fid[tiny-inception]' --out scores.json)";

const CommandHelp kCommand{"metrics", kHelp};

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

}  // namespace

std::string format_metrics_table(const std::vector<MetricValue>& values) {
  std::vector<std::array<std::string, 3>> rows{{"metric", "value", "notes"}};
  for (const auto& v : values) {
    std::string note;
    if (v.skipped) {
      note = v.skip_reason;
    } else {
      if (v.protocol.contains("extractor"))
        note += "extractor sha256 " + v.protocol["extractor"].value("sha256", std::string()).substr(0, 12);
      if (v.protocol.contains("reference_stats"))
        note += std::string(note.empty() ? "" : ", ") + "reference stats " + v.protocol["reference_stats"].get<std::string>();
    }
    rows.push_back({v.key, format_value(v), note});
  }
  // Each column as wide as its widest cell plus two spaces: a value never runs into the notes.
  std::size_t key_width = 0, value_width = 0;
  for (const auto& r : rows) {
    key_width = std::max(key_width, r[0].size());
    value_width = std::max(value_width, r[1].size());
  }
  std::ostringstream o;
  for (const auto& r : rows) {
    std::string line = r[0] + std::string(key_width - r[0].size() + 2, ' ') + r[1];
    if (!r[2].empty()) line += std::string(value_width - r[1].size() + 2, ' ') + r[2];
    o << line << "\n";
  }
  return o.str();
}

namespace {

// The set's source, each video listed with the frames, height and width it was scored at.
Json with_video_shapes(const VideoSet& set) {
  Json source = set.source;
  const Json shapes = set.video_shapes();
  Json videos = Json::array();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    Json v = shapes[i].is_null() ? Json{{"read", false}} : shapes[i];
    if (source.contains("files") && i < source["files"].size()) v["file"] = source["files"][i];
    videos.push_back(v);
  }
  source["videos"] = videos;
  return source;
}

int run_metrics(const std::vector<std::string>& args) {
  std::string real_src, fake_src, metrics = "fvd,fid,mm,flow_motion,stability", weights, cache, out, device = "cpu";
  int frames = 16, stride = 1, start = 0, size = 0, threads = 0;
  std::size_t limit = 0;
  std::uint64_t seed = 0;
  bool quiet = false, verbose = false;
  std::string on_error = "fail";
  po::options_description desc("options");
  desc.add_options()
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
      ("on-error", po::value(&on_error)->default_value(on_error),
       "an unreadable video file: fail (an error naming it) or skip (left out, named in a warning)")
      ("device", po::value(&device)->default_value(device), "cpu or cuda")
      ("threads", po::value(&threads)->default_value(0), "CPU threads for LibTorch; 0 = every core")
      ("quiet,q", po::bool_switch(&quiet), "only warnings, errors and the table")
      ("verbose,v", po::bool_switch(&verbose), "debug messages");
  po::variables_map vm;
  if (const int code = parse_command_line(args, kCommand, desc, po::positional_options_description(), vm); code >= 0) return code;
  if (real_src.empty() || fake_src.empty()) throw ConfigError(see_help(kCommand, "--real and --fake are both needed"));
  if (quiet) set_log_level(LogLevel::warn);
  if (verbose) set_log_level(LogLevel::debug);
  const OnError on_error_mode = on_error_from_string(on_error);
  at::set_num_threads(threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency())));

  // The same context `vdlab run` builds, so both find (and train once) the same cached tiny extractors
  // and reference statistics.
  RunOptions run_options;
  run_options.cache_dir = cache;
  if (weights.empty())
    if (const char* env = std::getenv("VDLAB_WEIGHTS"); env && *env) weights = env;
  run_options.weights_dir = weights;
  run_options.device = device;
  MetricContext ctx = metric_context(run_options, seed);
  const std::vector<std::string> specs = split_list(metrics);
  if (specs.empty()) throw ConfigError("--metrics: no metric named");

  VideoSourceOptions so;
  so.read.frames = frames;
  so.read.stride = stride;
  so.read.start = start;
  so.read.size = size;
  so.limit = limit;
  so.on_error = on_error_mode;
  log_info("reading " + real_src);
  const VideoSet real = load_video_set(real_src, so);
  log_info("reading " + fake_src);
  const VideoSet fake = load_video_set(fake_src, so);
  log_info(std::to_string(real.size()) + " real and " + std::to_string(fake.size()) +
           " generated videos; weights " + ctx.weights_dir + ", cache " + ctx.cache_dir);

  const std::vector<MetricValue> values = score_video_sets(real, fake, specs, ctx);

  std::cout << format_metrics_table(values);
  if (!out.empty()) {
    Json j{{"real", with_video_shapes(real)}, {"fake", with_video_shapes(fake)}, {"weights_dir", ctx.weights_dir},
           {"cache_dir", ctx.cache_dir}, {"seed", seed}, {"on_error", on_error}, {"metrics", Json::array()}};
    for (const auto& v : values) j["metrics"].push_back(metric_value_json(v));
    AtomicFile file(out);
    {
      std::ofstream f(file.temp_path());
      f << j.dump(2) << "\n";
      f.close();  // a full disk shows when the buffer is flushed
      if (!f) throw IoError(out + ": cannot write");
    }
    file.commit();
  }
  return 0;
}

}  // namespace

Command metrics_command() {
  return {"metrics", "score a set of generated videos against real ones (folders or .h5), no experiment file",
          run_metrics};
}

}  // namespace vdlab
