#include "metrics/video_sets.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"

namespace vdlab {

namespace {

bool is_video_file(const std::filesystem::path& p) {
  static const std::set<std::string> ext = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".gif"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext.count(e) > 0;
}

std::string read_caption(const std::filesystem::path& video) {
  std::filesystem::path txt = video;
  txt.replace_extension(".txt");
  std::ifstream in(txt);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

OnError on_error_from_string(const std::string& name) {
  if (name == "fail") return OnError::fail;
  if (name == "skip") return OnError::skip;
  throw ConfigError("on_error: '" + name + "' is not fail or skip");
}

VideoSet load_video_set(const std::string& source, const VideoSourceOptions& o) {
  namespace fs = std::filesystem;
  if (!fs::exists(source)) throw IoError(source + ": no such folder or file");
  if (fs::is_directory(source)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(source))
      if (e.is_regular_file() && is_video_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (o.limit && files.size() > o.limit) files.resize(o.limit);
    if (files.empty()) throw IoError(source + ": no video files (.avi, .mp4, .mkv, .mov, .webm, ...)");
    Json skipped = Json::array();
    if (o.on_error == OnError::skip) {
      // A truncated file opens and reports its full frame count; only decoding it shows the damage.
      std::vector<fs::path> readable;
      for (const auto& f : files) {
        try {
          (void)read_video(f.string(), o.read);
          readable.push_back(f);
        } catch (const IoError& e) {
          log_warn("skipping " + f.string() + ": " + e.what());
          skipped.push_back({{"file", f.filename().string()}, {"reason", e.what()}});
        }
      }
      if (!skipped.empty())
        log_warn(source + ": " + std::to_string(skipped.size()) + " of " + std::to_string(files.size()) +
                 " video files skipped (on_error: skip)");
      files = std::move(readable);
      if (files.empty()) throw IoError(source + ": no readable video files (every one was skipped)");
    }
    // The files' bytes and the read settings identify the set without decoding it.
    Sha256 h;
    h.update(Json{{"frames", o.read.frames}, {"stride", o.read.stride}, {"start", o.read.start}, {"size", o.read.size}}.dump());
    Json names = Json::array();
    for (const auto& f : files) {
      h.update(f.filename().string());
      h.update(sha256_file(f.string()));
      names.push_back(f.filename().string());
    }
    const ReadOptions read = o.read;
    VideoSet set = VideoSet::streamed(files.size(), [files, read](std::size_t i) { return read_video(files[i].string(), read); });
    for (const auto& f : files) set.captions.push_back(read_caption(f));
    set.content_hash = h.hex();
    set.source = {{"kind", "video-folder"}, {"path", fs::absolute(source).string()}, {"files", names},
                  {"frames", o.read.frames}, {"stride", o.read.stride}, {"start", o.read.start}, {"size", o.read.size}};
    if (!skipped.empty()) {
      set.source["skipped"] = skipped;
      set.source["skipped_count"] = skipped.size();
    }
    return set;
  }
  const std::string ext = fs::path(source).extension().string();
  if (ext != ".h5" && ext != ".hdf5")
    throw IoError(source + ": a source is a folder of video files or an HDF5 clip store (.h5)");
  register_builtin_datasets();
  if (!dataset_registry().contains("hdf5"))
    throw IoError(source + ": reading HDF5 clip stores needs the 'hdf5' dataset, which this build does not register");
  ClipSourcePtr clips = make_dataset(Json{{"name", "hdf5"}, {"path", source}}, "--real/--fake");
  const std::size_t n = std::min(clips->size(), o.limit ? o.limit : SIZE_MAX);
  VideoSet set = VideoSet::streamed(n, [clips](std::size_t i) { return clips->get(i).video; });
  for (std::size_t i = 0; i < n; ++i) set.captions.push_back(clips->get(i).caption);
  set.content_hash = o.limit ? "" : clips->content_hash();
  set.source = {{"kind", "hdf5"}, {"path", fs::absolute(source).string()}, {"dataset", clips->describe()}};
  return set;
}

std::pair<std::string, Json> parse_metric_spec(const std::string& spec) {
  const auto open = spec.find('[');
  if (open == std::string::npos) return {spec, Json::object()};
  if (spec.back() != ']') throw ConfigError("metric '" + spec + "': expected name[part,part,...]");
  const std::string name = spec.substr(0, open);
  const std::string inner = spec.substr(open + 1, spec.size() - open - 2);
  Json params = Json::object();
  std::string inner_parts = inner;
  std::replace(inner_parts.begin(), inner_parts.end(), '/', kMetricKeySeparator);  // the older spelling
  std::stringstream ss(inner_parts);
  std::string part;
  auto number = [&](const std::string& s) {
    try {
      return std::stod(s);
    } catch (const std::exception&) {
      throw ConfigError("metric '" + spec + "': '" + part + "' is not a number");
    }
  };
  while (std::getline(ss, part, kMetricKeySeparator)) {
    if (part.empty()) continue;
    if (part == "stylegan-v" || part == "center-crop") params["protocol"] = part;
    else if (part == "biased" || part == "unbiased") params["estimator"] = part;
    else if (part == "clamped") params["clamp"] = true;
    else if (part.size() > 1 && part[0] == 'f' && std::isdigit(static_cast<unsigned char>(part[1])))
      params["frames"] = int(number(part.substr(1)));
    else if (part.size() > 1 && part[0] == 'x' && std::isdigit(static_cast<unsigned char>(part[1])))
      params["scale"] = number(part.substr(1));
    else if (part == "clip-vit-b32" && (name == "clip_sim" || name == "fc")) continue;  // the only CLIP
    else params["extractor"] = part;
  }
  return {name, params};
}

std::vector<MetricValue> score_video_sets(const VideoSet& real, const VideoSet& fake,
                                          const std::vector<std::string>& specs, MetricContext& ctx) {
  register_builtin_metrics();
  std::vector<std::pair<std::string, MetricPtr>> metrics;
  for (const auto& spec : specs) {  // build them all first: a typo fails before any work
    const auto parsed = parse_metric_spec(spec);
    metrics.emplace_back(spec, metric_registry().make(parsed.first, parsed.second, "--metrics " + spec));
  }
  std::vector<MetricValue> out;
  for (auto& m : metrics) {
    log_info("computing " + m.first);
    for (auto& v : m.second->compute(real, fake, ctx)) out.push_back(std::move(v));
  }
  return out;
}

Json metric_value_json(const MetricValue& v) {
  Json j{{"key", v.key},           {"value", v.skipped ? Json() : Json(v.value)}, {"higher_is_better", v.higher_is_better},
         {"skipped", v.skipped},   {"protocol", v.protocol},                      {"per_sample", v.per_sample}};
  if (v.skipped) j["skip_reason"] = v.skip_reason;
  return j;
}

}  // namespace vdlab
