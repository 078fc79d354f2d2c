#include "runners/cell_runner.h"

#include <ATen/Parallel.h>
#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/hdf5_util.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "methods/backbone/file_lock.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/method.h"
#include "methods/video_tensor.h"
#include "metrics/metric.h"
#include "core/atomic_file.h"
#include "results/cell_file.h"
#include "runners/cell_state.h"
#include "runners/provenance.h"

namespace vdlab {

namespace fs = std::filesystem;

std::string default_cache_dir() {
  if (const char* d = std::getenv("VDLAB_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/vdlab";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/vdlab";
  return ".vdlab-cache";
}

std::string cell_path(const RunOptions& o, const CellSpec& c) { return o.out_dir + "/cells/" + c.id + ".h5"; }
std::string cell_error_path(const RunOptions& o, const CellSpec& c) { return o.out_dir + "/cells/" + c.id + ".error"; }

bool cell_finished(const RunOptions& o, const CellSpec& c) { return read_cell_hash(cell_path(o, c)) == c.hash; }
std::string cell_lock_path(const RunOptions& o, const CellSpec& c) { return o.out_dir + "/locks/" + c.id + ".lock"; }

bool cell_running(const RunOptions& o, const CellSpec& c) {
  const std::string path = cell_lock_path(o, c);
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  try {
    FileLock lock(path);
    return !lock.try_lock();  // released at once by the destructor
  } catch (const IoError&) {
    return false;
  }
}

struct CellRunner::RealSplit {
  ClipSourcePtr source;  // labels and captions condition the generated videos (read clip by clip)
  VideoSet set;          // the same split as the metrics stream it, with the split's content hash
};

struct CellRunner::Shared {
  std::map<std::string, BackbonePtr> backbones;  // by config hash of {backbone, train_dataset}
  std::map<std::string, Json> backbone_files;    // the weights files each backbone loaded
  std::map<std::string, RealSplit> real_splits;  // by dataset config hash
  InputIdentities identities;
};

RunOptions with_defaults(RunOptions o) {
  if (o.cache_dir.empty()) o.cache_dir = default_cache_dir();
  if (o.weights_dir.empty()) o.weights_dir = o.cache_dir + "/weights";
  return o;
}

MetricContext metric_context(const RunOptions& options, std::uint64_t seed) {
  const RunOptions o = with_defaults(options);
  MetricContext ctx;
  ctx.weights_dir = o.weights_dir;
  ctx.cache_dir = o.cache_dir;  // metrics place their caches under it (metrics/metric.h)
  ctx.device = o.device;
  ctx.seed = seed;
  return ctx;
}

CellRunner::CellRunner(const Experiment& experiment, RunOptions options)
    : experiment_(experiment), options_(with_defaults(std::move(options))), shared_(std::make_unique<Shared>()) {}

CellRunner::~CellRunner() = default;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text + "\n");
}

// Steps per second of the latest earlier training of the same preset in the cache (its curves.h5:
// cumulative seconds per step), or 0 when there is none.
double measured_steps_per_second(const std::string& cache_dir, const std::string& preset) {
  double best_time = -1, rate = 0;
  std::error_code ec;
  const fs::path root = fs::path(cache_dir) / "backbones";
  if (!fs::is_directory(root, ec)) return 0;
  for (const auto& dir : fs::directory_iterator(root, ec)) {
    const fs::path curves = dir.path() / "curves.h5", config = dir.path() / "config.json";
    if (!fs::exists(curves) || !fs::exists(config)) continue;
    try {
      std::ifstream in(config);
      const Json cfg = Json::parse(in);
      if (cfg.at("backbone").value("preset", std::string()) != preset) continue;
      h5::quiet();
      H5::H5File file(curves.string(), H5F_ACC_RDONLY);
      const std::vector<double> steps = h5::read_doubles(file.openGroup("/"), "step");
      const std::vector<double> seconds = h5::read_doubles(file.openGroup("/"), "seconds");
      if (steps.size() < 2 || seconds.back() <= 0) continue;
      const double when = double(fs::last_write_time(curves).time_since_epoch().count());
      if (when > best_time) {
        best_time = when;
        rate = (steps.back() - steps.front() + 1) / seconds.back();
      }
    } catch (const std::exception&) {
    }
  }
  return rate;
}

}  // namespace

namespace {

// The cache folder of a trained backbone, as CellRunner builds it.
std::string trained_backbone_dir(const Json& backbone, const Json& train_dataset, const RunOptions& o) {
  BackboneContext ctx;
  ctx.cache_dir = o.cache_dir;
  ctx.train_data_config = train_dataset;
  ctx.seed = 0;  // as CellRunner builds it
  Json params = backbone;
  params.erase("name");
  return unet_cache_dir(resolve_unet_backbone_params(params, "backbone"), ctx);
}

std::string one_backbone_line(const Json& backbone, const Json& train_dataset, const RunOptions& o) {
  const std::string name = backbone.value("name", std::string());
  if (name == "torchscript") return "backbone: TorchScript file " + backbone.value("path", std::string());
  if (!backbone_trains(backbone)) return "backbone: " + name + " (analytic, nothing to train or load)";
  const std::string dir = trained_backbone_dir(backbone, train_dataset, o);
  const std::string preset = backbone.value("preset", std::string("?"));
  if (fs::exists(fs::path(dir) / "final.pt")) return "backbone: " + name + " " + preset + ", cached in " + dir;
  const Json& train = backbone.at("train");
  const long steps = train.value("steps", 0L) + train.value("image_pretrain_steps", 0L);
  std::string line = "backbone: " + name + " " + preset + " will be trained (" + std::to_string(steps) + " steps";
  const double rate = measured_steps_per_second(o.cache_dir, preset);
  if (rate > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", rate);
    line += ", about " + format_duration(double(steps) / rate) + " at " + buf +
            " steps/s measured by an earlier training in the cache";
  } else {
    line += "; no earlier training of this preset in the cache to time it by";
  }
  return line + ") into " + dir;
}

}  // namespace

bool backbone_needs_training(const Json& backbone, const Json& train_dataset, const RunOptions& options) {
  if (!backbone_trains(backbone) || backbone.value("name", std::string()) != "unet") return false;
  const RunOptions o = with_defaults(options);
  return !fs::exists(fs::path(trained_backbone_dir(backbone, train_dataset, o)) / "final.pt");
}

std::string backbone_plan_line(const Experiment& e, const RunOptions& options) {
  const RunOptions o = with_defaults(options);
  const auto backbones = distinct_backbones(e);
  if (backbones.size() == 1) return one_backbone_line(backbones.front().first, e.train_dataset, o);
  std::string lines;
  for (const auto& [backbone, labels] : backbones) {
    std::string users;
    for (const auto& l : labels) users += (users.empty() ? "" : ", ") + l;
    lines += (lines.empty() ? "" : "\n") + one_backbone_line(backbone, e.train_dataset, o) + " [variants: " + users + "]";
  }
  return lines;
}

const CellRunner::RealSplit& CellRunner::real_split(const Json& dataset) {
  const std::string key = config_hash(dataset);
  auto it = shared_->real_splits.find(key);
  if (it != shared_->real_splits.end()) return it->second;
  RealSplit split;
  split.source = make_dataset(dataset, "dataset");
  if (split.source->size() == 0) throw ConfigError("dataset: the split has no clips");
  // Streamed: the metrics read the clips a batch at a time, so memory does not grow with the split.
  split.set = VideoSet::streamed(split.source->size(), [source = split.source](std::size_t i) { return source->get(i).video; });
  split.set.content_hash = shared_->identities.dataset_hash(dataset);
  split.set.source = dataset;
  return shared_->real_splits.emplace(key, std::move(split)).first->second;
}

namespace {

// The weights file a built backbone loaded, by what its description says: a TorchScript file, or the
// cached weights of a trained backbone (<cache>/backbones/<cache_key>/final.pt, or the file its
// checkpoint step read). Analytic backbones load none.
Json backbone_weights_files(const Json& described, const Json& config, const RunOptions& options) {
  if (!described.contains("weights_sha256")) return Json::object();
  std::string path;
  if (config.value("name", std::string()) == "torchscript") path = config.value("path", std::string());
  else if (described.contains("cache_key"))
    path = options.cache_dir + "/backbones/" + described.at("cache_key").get<std::string>() + "/" +
           described.value("weights_file", std::string("final.pt"));
  if (path.empty()) return Json::object();
  return Json{{"backbone", {{"path", fs::absolute(path).lexically_normal().string()},
                            {"sha256", described.at("weights_sha256")}}}};
}

// The extractor files a metric's values say it loaded.
Json metric_files(const std::vector<MetricValue>& values) {
  Json files = Json::array();
  for (const auto& v : values) {
    const Json ex = v.protocol.value("extractor", Json());
    if (!ex.is_object() || !ex.contains("path") || !ex.contains("sha256")) continue;
    const Json f{{"path", fs::absolute(ex.at("path").get<std::string>()).lexically_normal().string()},
                 {"sha256", ex.at("sha256")}};
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
  }
  return files;
}

}  // namespace

Backbone& CellRunner::backbone_for(const CellSpec& cell, Json& weights_files) {
  const Json key_cfg = {{"backbone", cell.config.at("backbone")}, {"train", cell.config.at("train_dataset")}};
  const std::string key = config_hash(key_cfg);
  if (!shared_->backbones.count(key)) {
    BackboneContext ctx;
    ctx.cache_dir = options_.cache_dir;
    ctx.device = options_.device;
    ctx.train_data_config = cell.config.at("train_dataset");
    if (backbone_trains(cell.config.at("backbone"))) ctx.train_data = make_dataset(ctx.train_data_config, "train_dataset");
    ctx.seed = 0;  // one backbone for every seed of the sweep; the cell's seed drives sampling only
    BackbonePtr backbone = backbone_registry().make_resolved(cell.config.at("backbone"), "backbone")(ctx);
    backbone->to(torch::Device(options_.device));
    shared_->backbones[key] = backbone;
    shared_->backbone_files[key] = backbone_weights_files(backbone->describe(), cell.config.at("backbone"), options_);
  }
  weights_files = shared_->backbone_files.at(key);
  return *shared_->backbones.at(key);
}

// Scores `metrics` on the generated set and adds the values, and what each metric loaded, to `record`.
void CellRunner::score(const CellSpec& cell, const std::vector<Json>& metrics, const RealSplit& real,
                       const VideoSet& fake, CellRecord& record) {
  MetricContext mctx = metric_context(options_, cell.seed);
  // Features of the generated set, per cell, so metrics can be recomputed without regenerating.
  mctx.features_dir = options_.out_dir + "/features/" + cell.id;
  for (const Json& m : metrics) {
    std::size_t index = 0;
    while (index < cell.metrics.size() && cell.metrics[index] != m) ++index;
    MetricPtr metric = metric_registry().make_resolved(m, "metrics[" + std::to_string(index) + "]");
    std::vector<MetricValue> values = metric->compute(real.set, fake, mctx);
    Json keys = Json::array();
    for (const auto& v : values) keys.push_back(v.key);
    // A metric whose config changed but whose key did not (a new parameter with its default) replaces the
    // stored values under that key: a cell file holds one group per key.
    record.metrics.erase(std::remove_if(record.metrics.begin(), record.metrics.end(),
                                        [&](const MetricValue& v) {
                                          return std::find(keys.begin(), keys.end(), v.key) != keys.end();
                                        }),
                         record.metrics.end());
    for (auto it = record.scored.begin(); it != record.scored.end();) {
      Json kept = Json::array();
      for (const auto& k : it->value("keys", Json::array()))
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) kept.push_back(k);
      if (kept.empty() && !it->value("keys", Json::array()).empty()) {
        it = record.scored.erase(it);
      } else {
        (*it)["keys"] = kept;
        ++it;
      }
    }
    record.scored.push_back({{"config", m}, {"keys", keys}, {"files", metric_files(values)}});
    for (auto& v : values) record.metrics.push_back(std::move(v));
  }
  record.provenance["threads_metrics"] = at::get_num_threads();
}

void CellRunner::generate_and_score(const CellSpec& cell, const std::string& why) {
  const auto t0 = std::chrono::steady_clock::now();
  CellRecord record;
  record.id = cell.id;
  record.hash = cell.hash;
  record.config = cell.config;
  record.provenance = provenance(options_.device);
  record.provenance["seed"] = cell.seed;
  record.provenance["label"] = cell.label;
  record.provenance["experiment"] = experiment_.name;
  record.provenance["experiment_file"] = experiment_.origin;
  record.provenance["run_because"] = why;

  // The evaluation split (shared by every cell on it).
  auto t = std::chrono::steady_clock::now();
  const RealSplit& real = real_split(cell.config.at("dataset"));
  const ClipSource& split = *real.source;
  record.provenance["dataset_content_hash"] = real.set.content_hash;
  if (!split.skipped_items().empty()) record.provenance["dataset_skipped"] = split.skipped_items();
  record.inputs["dataset"] = {{"content_hash", real.set.content_hash}};
  record.timings["load_data_s"] = seconds_since(t);

  // The backbone (trained once per config, cached on disk by the backbone itself).
  t = std::chrono::steady_clock::now();
  Json weights_files;
  Backbone& backbone = backbone_for(cell, weights_files);
  record.provenance["backbone"] = backbone.describe();
  record.inputs["files"] = weights_files;
  record.timings["backbone_s"] = seconds_since(t);

  // Generate.
  t = std::chrono::steady_clock::now();
  const Json& gen = cell.config.at("generate");
  GenerateRequest request;
  request.count = gen.at("count").get<int64_t>() > 0 ? gen.at("count").get<int64_t>() : int64_t(split.size());
  const Video first = split.get(0).video;
  request.frames = first.frames;
  request.height = first.height;
  request.width = first.width;
  request.batch_size = gen.at("batch_size").get<int64_t>();
  request.seed = cell.seed;
  request.device = options_.device;
  for (int64_t i = 0; i < request.count; ++i) {
    const Clip c = split.get(std::size_t(i) % split.size());
    if (gen.at("conditional").get<bool>()) {
      request.labels.push_back(c.label);
      request.captions.push_back(c.caption);
    }
    request.references.push_back(c);
  }
  MethodPtr method = method_registry().make_resolved(method_config(cell.config.at("variant")), "variant");
  GenerateResult generated = method->generate(backbone, request);
  record.provenance["threads_generate"] = at::get_num_threads();
  record.timings["generate_s"] = seconds_since(t);
  record.stats = generated.stats;
  record.stats["nfe"] = generated.nfe;
  record.stats["dataset_skipped_count"] = split.skipped_items().size();  // unreadable clips (on_error: skip)

  // No video is kept from non-finite values: sampling stops at the first model output holding NaN or
  // Inf, naming the step (methods/samplers/sampler.h); what the sampler's own arithmetic or a method
  // beyond the sampler makes non-finite stops the cell here.
  if (const int64_t bad = generated.videos.numel() - torch::isfinite(generated.videos).sum().item<int64_t>(); bad > 0)
    throw NumericError("generated videos: " + std::to_string(bad) + " non-finite values (NaN or Inf) of " +
                       std::to_string(generated.videos.numel()) + " after sampling; no video or metric is kept");
  // Quantised one video at a time as the metrics read them.
  const torch::Tensor videos = generated.videos;
  VideoSet fake = VideoSet::streamed(std::size_t(videos.size(0)), [videos](std::size_t i) {
    return tensor_to_videos(videos.slice(0, int64_t(i), int64_t(i) + 1))[0];
  });
  fake.captions = generated.captions.empty() ? request.captions : generated.captions;
  fake.source = {{"cell", cell.id}};
  fake.content_hash = cell.hash;

  // Metrics.
  t = std::chrono::steady_clock::now();
  score(cell, cell.metrics, real, fake, record);
  record.timings["metrics_s"] = seconds_since(t);
  record.timings["total_s"] = seconds_since(t0);
  // The videos stay with the cell so metrics can be added later: in the cell file, or (save_samples:
  // false) in a samples file beside its features.
  if (gen.at("save_samples").get<bool>()) {
    record.samples = tensor_to_videos(videos);
    record.captions = fake.captions;
  } else {
    fs::create_directories(fs::path(cell_samples_path(options_, cell)).parent_path());
    write_samples_file(tensor_to_videos(videos), fake.captions, cell_samples_path(options_, cell));
  }
  write_cell(record, cell_path(options_, cell));
}

// A finished cell scored on more metrics (or again where an extractor changed), from its stored videos.
void CellRunner::score_finished(const CellSpec& cell, const std::vector<Json>& metrics) {
  const std::string path = cell_path(options_, cell);
  CellRecord record = read_cell(path, true);
  VideoSet fake;
  if (!record.samples.empty()) {
    fake.videos = record.samples;
    fake.captions = record.captions;
  } else {
    read_samples_file(cell_samples_path(options_, cell), fake.videos, fake.captions);
  }
  if (fake.videos.empty()) throw IoError(path + ": the cell kept no videos to score");
  // An earlier vdlab kept videos quantised from NaN or Inf output (and said so per video): no metric is
  // computed from them.
  const Json flags = record.stats.value("non_finite_per_video", Json::array());
  if (const auto bad = std::count(flags.begin(), flags.end(), Json(1)); bad > 0)
    throw NumericError("stored videos: " + std::to_string(bad) + " were made from non-finite model output by an "
                       "earlier vdlab; no metric is computed from them (--rerun stale generates the cell again)");
  fake.source = {{"cell", cell.id}};
  fake.content_hash = cell.hash;
  // Values of a metric scored again replace the old ones.
  for (const Json& m : metrics)
    for (auto it = record.scored.begin(); it != record.scored.end();)
      if (it->value("config", Json()) == m) {
        const Json keys = it->value("keys", Json::array());
        record.metrics.erase(std::remove_if(record.metrics.begin(), record.metrics.end(),
                                            [&](const MetricValue& v) {
                                              return std::find(keys.begin(), keys.end(), v.key) != keys.end();
                                            }),
                             record.metrics.end());
        it = record.scored.erase(it);
      } else {
        ++it;
      }
  const auto t = std::chrono::steady_clock::now();
  score(cell, metrics, real_split(cell.config.at("dataset")), fake, record);
  record.timings["metrics_added_s"] = seconds_since(t);
  write_cell(record, path);
}

void CellRunner::prepare_backbone(const CellSpec& cell) {
  Json weights_files;
  backbone_for(cell, weights_files);
}

CellOutcome CellRunner::run(const CellSpec& cell) {
  CellOutcome outcome;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    // Judged under the lock: a process that waited here finds the cell finished by the one before it.
    fs::create_directories(fs::path(cell_lock_path(options_, cell)).parent_path());
    FileLock lock(cell_lock_path(options_, cell));
    lock.lock("running cell " + cell.id);
    const CellJudgement judged = judge_cell(options_, cell, shared_->identities);
    const bool current = judged.state == CellState::done ||
                         (judged.state == CellState::other_version && !options_.rerun_other_version);
    outcome.why = describe_judgement(judged);
    if (current && !options_.force && judged.metrics_to_score.empty()) {
      outcome.status = CellStatus::skipped;
    } else if (current && !options_.force) {
      score_finished(cell, judged.metrics_to_score);
      outcome.status = CellStatus::scored;
    } else {
      if (judged.state == CellState::corrupt) move_corrupt_cell_aside(options_, cell, judged);
      generate_and_score(cell, options_.force ? "forced" : outcome.why);
      outcome.status = CellStatus::done;
    }
    std::error_code ec;
    fs::remove(cell_error_path(options_, cell), ec);
  } catch (const TrainingInterrupted&) {
    throw;  // checkpointed, not failed: the same command (or the requeued task) resumes
  } catch (const std::exception& e) {
    outcome.status = CellStatus::failed;
    outcome.error = e.what();
    try {
      write_text_atomically(cell_error_path(options_, cell), outcome.error);
    } catch (const std::exception&) {
    }
  }
  outcome.seconds = seconds_since(t0);
  return outcome;
}

}  // namespace vdlab
