#include "runners/cell_runner.h"

#include <torch/types.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "methods/method.h"
#include "methods/video_tensor.h"
#include "metrics/metric.h"
#include "core/atomic_file.h"
#include "results/cell_file.h"
#include "runners/provenance.h"

namespace vdlab {

namespace fs = std::filesystem;

std::string default_cache_dir() {
  if (const char* d = std::getenv("VDLAB_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/vdlab";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/vdlab";
  return ".vdlab-cache";
}

bool backbone_trains(const Json& backbone) { return backbone.contains("train"); }

std::string cell_path(const RunOptions& o, const CellSpec& c) { return o.out_dir + "/cells/" + c.id + ".h5"; }
std::string cell_error_path(const RunOptions& o, const CellSpec& c) { return o.out_dir + "/cells/" + c.id + ".error"; }

bool cell_finished(const RunOptions& o, const CellSpec& c) { return read_cell_hash(cell_path(o, c)) == c.hash; }

struct CellRunner::Shared {
  std::map<std::string, BackbonePtr> backbones;  // by config hash of {backbone, train_dataset}
  // By dataset config hash: the split, and the same split as a set the metrics stream (read clip by
  // clip, never held whole).
  std::map<std::string, ClipSourcePtr> real_sources;
  std::map<std::string, std::shared_ptr<VideoSet>> real_sets;
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
  AtomicFile out(path);
  std::ofstream(out.temp_path()) << text << "\n";
  out.commit();
}

}  // namespace

CellOutcome CellRunner::run(const CellSpec& cell) {
  CellOutcome outcome;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string path = cell_path(options_, cell);
  if (!options_.force && cell_finished(options_, cell)) {
    outcome.status = CellStatus::skipped;
    return outcome;
  }
  try {
    CellRecord record;
    record.id = cell.id;
    record.hash = cell.hash;
    record.config = cell.config;
    record.provenance = provenance(options_.device);
    record.provenance["seed"] = cell.seed;
    record.provenance["label"] = cell.label;
    record.provenance["experiment"] = experiment_.name;
    record.provenance["experiment_file"] = experiment_.origin;

    // The evaluation split (shared by every cell on it).
    const Json& dataset_cfg = cell.config.at("dataset");
    const std::string dataset_key = config_hash(dataset_cfg);
    auto t = std::chrono::steady_clock::now();
    if (!shared_->real_sets.count(dataset_key)) {
      ClipSourcePtr source = make_dataset(dataset_cfg, "dataset");
      if (source->size() == 0) throw ConfigError("dataset: the split has no clips");
      auto set = std::make_shared<VideoSet>(
          VideoSet::streamed(source->size(), [source](std::size_t i) { return source->get(i).video; }));
      set->content_hash = source->content_hash();
      set->source = dataset_cfg;
      shared_->real_sets[dataset_key] = set;
      shared_->real_sources[dataset_key] = source;
    }
    const VideoSet& real = *shared_->real_sets.at(dataset_key);
    const ClipSource& split = *shared_->real_sources.at(dataset_key);
    record.provenance["dataset_content_hash"] = real.content_hash;
    if (!split.skipped_items().empty()) record.provenance["dataset_skipped"] = split.skipped_items();
    record.timings["load_data_s"] = seconds_since(t);

    // The backbone (trained once per config, cached on disk by the backbone itself).
    t = std::chrono::steady_clock::now();
    const Json backbone_key_cfg = {{"backbone", cell.config.at("backbone")}, {"train", cell.config.at("train_dataset")}};
    const std::string backbone_key = config_hash(backbone_key_cfg);
    if (!shared_->backbones.count(backbone_key)) {
      BackboneContext ctx;
      ctx.cache_dir = options_.cache_dir;
      ctx.device = options_.device;
      ctx.train_data_config = cell.config.at("train_dataset");
      if (backbone_trains(cell.config.at("backbone"))) ctx.train_data = make_dataset(ctx.train_data_config, "train_dataset");
      ctx.seed = 0;  // the backbone is shared by every seed of the sweep: always trained with seed 0
      BackbonePtr backbone = backbone_registry().make_resolved(cell.config.at("backbone"), "backbone")(ctx);
      backbone->to(torch::Device(options_.device));
      shared_->backbones[backbone_key] = backbone;
    }
    Backbone& backbone = *shared_->backbones.at(backbone_key);
    record.provenance["backbone"] = backbone.describe();
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
    MethodPtr method = method_registry().make_resolved(
        [&] {
          Json v = cell.config.at("variant");
          v["name"] = v.at("method");
          v.erase("method");
          return v;
        }(),
        "variant");
    GenerateResult generated = method->generate(backbone, request);
    record.timings["generate_s"] = seconds_since(t);
    record.stats = generated.stats;
    record.stats["nfe"] = generated.nfe;
    record.stats["dataset_skipped_count"] = split.skipped_items().size();  // unreadable clips (on_error: skip)

    // Non-finite output is a model failure: name the cell and the count, keep going with the rest.
    const auto finite = torch::isfinite(generated.videos).flatten(1).all(1);
    const int64_t bad = generated.videos.size(0) - finite.sum().item<int64_t>();
    record.stats["non_finite_videos"] = bad;
    if (bad == generated.videos.size(0))
      throw NumericError("the model produced non-finite values in every generated video (" + std::to_string(bad) + ")");
    if (bad > 0) log_warn(cell.id + ": " + std::to_string(bad) + " generated videos contain NaN or Inf");

    // Quantised one video at a time as the metrics read them; stability also sees which raw videos held
    // NaN or Inf (the pixels are replaced before quantising, which would hide them).
    const torch::Tensor clean = generated.videos.nan_to_num_(0.0, 1.0, -1.0);  // in place: no second copy
    VideoSet fake = VideoSet::streamed(std::size_t(clean.size(0)), [clean](std::size_t i) {
      return tensor_to_videos(clean.slice(0, int64_t(i), int64_t(i) + 1))[0];
    });
    for (int64_t i = 0; i < finite.size(0); ++i) fake.non_finite.push_back(!finite[i].item<bool>());
    fake.captions = request.captions;
    fake.source = {{"cell", cell.id}};
    fake.content_hash = cell.hash;

    // Metrics.
    t = std::chrono::steady_clock::now();
    MetricContext mctx = metric_context(options_, cell.seed);
    // Features of the generated set, per cell, so metrics can be recomputed without regenerating.
    mctx.features_dir = options_.out_dir + "/features/" + cell.id;
    for (std::size_t i = 0; i < cell.config.at("metrics").size(); ++i) {
      const Json& m = cell.config.at("metrics")[i];
      MetricPtr metric = metric_registry().make_resolved(m, "metrics[" + std::to_string(i) + "]");
      for (auto& value : metric->compute(real, fake, mctx)) {
        record.metrics.push_back(std::move(value));
      }
    }
    record.timings["metrics_s"] = seconds_since(t);
    record.timings["total_s"] = seconds_since(t0);
    if (gen.at("save_samples").get<bool>()) {
      record.samples = tensor_to_videos(clean);
      record.captions = fake.captions;
    }
    write_cell(record, path);
    std::error_code ec;
    fs::remove(cell_error_path(options_, cell), ec);
    outcome.status = CellStatus::done;
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
