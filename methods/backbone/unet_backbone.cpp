#include "methods/backbone/unet_backbone.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/suggest.h"
#include "core/log.h"
#include "methods/backbone/file_lock.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet.h"
#include "methods/schedules/noise_schedule.h"
#include "methods/training/objective.h"
#include "methods/training/stages.h"

namespace vdlab {

namespace fs = std::filesystem;

UNetBackbone::UNetBackbone(std::shared_ptr<VideoUNetImpl> module, Prediction prediction, Json schedule, Json identity)
    : module_(std::move(module)), prediction_(prediction), schedule_(std::move(schedule)), identity_(std::move(identity)) {}

const UNetConfig& UNetBackbone::unet_config() const { return module_->config(); }
int64_t UNetBackbone::channels() const { return module_->config().out_channels; }
bool UNetBackbone::conditional() const { return module_->config().conditioning != "none"; }
void UNetBackbone::to(const torch::Device& device) { module_->to(device); }

torch::Tensor UNetBackbone::forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) {
  return module_->forward(x, t, cond.labels, cond.captions).prediction;
}

std::vector<std::string> UNetBackbone::capabilities() const {
  return {FeatureTaps::kName, TemporalAttentionControl::kName, ParameterGroups::kName, FineTuning::kName};
}

BackboneCapability* UNetBackbone::find_capability(const std::string& name) {
  if (name == FeatureTaps::kName) return static_cast<FeatureTaps*>(this);
  if (name == TemporalAttentionControl::kName) return static_cast<TemporalAttentionControl*>(this);
  if (name == ParameterGroups::kName) return static_cast<ParameterGroups*>(this);
  if (name == FineTuning::kName) return static_cast<FineTuning*>(this);
  return nullptr;
}

ForwardOutput UNetBackbone::forward_with(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond,
                                         const ForwardOptions& options) {
  return module_->forward(x, t, cond.labels, cond.captions, options);
}

std::vector<std::string> UNetBackbone::tap_sites() const { return module_->tap_sites(); }
std::vector<std::string> UNetBackbone::temporal_sites() const { return module_->temporal_sites(); }
int64_t UNetBackbone::temporal_heads() const { return module_->config().heads; }

std::vector<std::string> UNetBackbone::group_names() const { return VideoUNetImpl::group_names(); }

std::vector<std::pair<std::string, torch::Tensor>> UNetBackbone::named_parameters(const std::string& group) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : module_->named_parameters())
    if (VideoUNetImpl::in_group(item.key(), group)) out.emplace_back(item.key(), item.value());
  return out;
}

std::vector<torch::Tensor> UNetBackbone::set_trainable(const std::vector<std::string>& groups) {
  if (!finetune_copy_)
    throw ConfigError("backbone '" + identity_.value("cache_key", std::string("unet")) +
                      "': set_trainable on the shared backbone; train a clone_for_finetune() copy instead");
  module_->set_trainable(groups);
  std::vector<torch::Tensor> out;
  for (auto& p : module_->parameters())
    if (p.requires_grad()) out.push_back(p);
  if (out.empty()) module_->eval();
  else module_->train();
  return out;
}

BackbonePtr UNetBackbone::clone_for_finetune() const {
  // Building a module draws its initial weights from the global CPU generator; they are overwritten
  // below, and the generator is put back so that a clone never shifts anyone's random draws.
  auto generator = at::detail::getDefaultCPUGenerator();
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.get_state();
  }
  VideoUNet copy(module_->config());
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
  const auto source_params = module_->parameters();
  const torch::Device device = source_params.empty() ? torch::Device(torch::kCPU) : source_params.front().device();
  copy->to(device);
  {
    torch::NoGradGuard guard;
    auto src = module_->named_parameters();
    for (auto& item : copy->named_parameters()) item.value().copy_(src[item.key()]);
    auto src_buffers = module_->named_buffers();
    for (auto& item : copy->named_buffers()) item.value().copy_(src_buffers[item.key()]);
  }
  copy->eval();
  for (auto& p : copy->parameters()) p.set_requires_grad(false);
  Json identity = identity_;
  identity["finetune_copy"] = true;
  auto clone = std::make_shared<UNetBackbone>(copy.ptr(), prediction_, schedule_, identity);
  clone->finetune_copy_ = true;
  return clone;
}

namespace {

const ParamSpecs& unet_params() {
  static const ParamSpecs specs = {
      {"preset", "tiny", "network size: tiny (CPU demos and tests), small, base (GPUs)", {"tiny", "small", "base"}, {}},
      {"prediction", "eps", "what the network predicts", {"eps", "v", "x0"}, {}},
      {"conditioning", "none",
       "none, class (the split's labels), caption (hashed bag of words) or clip-caption (bag of CLIP BPE token "
       "ids, the ids the CLIP metrics read)",
       {"none", "class", "caption", "clip-caption"}, {}},
      {"schedule", Json::object(), "training noise schedule {betas, beta_start, beta_end, num_train_timesteps}", {}, {}},
      {"train", Json::object(),
       "training recipe {steps, image_pretrain_steps, batch_size, lr, ema, ptss_p, noise, loss, trainable, ...}", {},
       {}},
      {"unet", Json::object(), "overrides of the preset's network fields (base_channels, channel_mult, ...)", {}, {}},
      {"checkpoint_step", 0,
       "sample with the EMA weights the training run kept at this step (a multiple of train.checkpoint_every "
       "after any image pre-training; 0: the end of the run); every step shares the run's cache entry",
       {}, {}},
  };
  return specs;
}

UNetConfig unet_config_of(const Json& resolved, const std::string& path) {
  Json j = UNetConfig::preset(resolved.at("preset").get<std::string>(), path + ".preset").to_json();
  for (auto it = resolved.at("unet").begin(); it != resolved.at("unet").end(); ++it) {
    const std::vector<std::string> known = UNetConfig::field_names();
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      throw ConfigError(path + ".unet." + it.key() + ": unknown field" + suggestion_suffix(it.key(), known));
    }
    if (it.key() == "conditioning" || it.key() == "num_classes")
      throw ConfigError(path + ".unet." + it.key() + ": set by backbone.conditioning and the training split");
    j[it.key()] = it.value();
  }
  j["conditioning"] = resolved.at("conditioning");
  return UNetConfig::from_json(j, path + ".unet");
}

}  // namespace

Json resolve_unet_backbone_params(const Json& given, const std::string& path) {
  Json r = resolve_params(given, unet_params(), path);
  r["schedule"] = resolve_params(r.at("schedule"), NoiseSchedule::params(), path + ".schedule");
  NoiseSchedule::from_config(r.at("schedule"), path + ".schedule");  // validates the values
  r["train"] = resolve_params(r.at("train"), TrainConfig::params(), path + ".train");
  r["train"]["loss"] = resolve_loss_terms(r.at("train").at("loss"), path + ".train.loss");
  TrainConfig::from_json(r.at("train"), path + ".train");
  // The network as built, so that a changed preset default changes the key too.
  Json unet = unet_config_of(r, path).to_json();
  unet.erase("conditioning");
  unet.erase("num_classes");
  r["unet"] = unet;
  r["name"] = "unet";
  // A checkpoint step is a step the run keeps weights at; the run's last step is its final weights. The
  // final weights leave no field behind, so a config naming none hashes as it did before the field existed.
  const int64_t step = r.at("checkpoint_step").get<int64_t>();
  const TrainConfig train = TrainConfig::from_json(r.at("train"), path + ".train");
  const int64_t total = train.image_pretrain_steps + train.steps;
  if (step != 0 && step != total) {
    const std::string where = path + ".checkpoint_step: " + std::to_string(step);
    if (step < 0 || step > total)
      throw ConfigError(where + " is outside the run (steps 1 to " + std::to_string(total) + ")");
    if (step <= train.image_pretrain_steps)
      throw ConfigError(where + " falls in the image pre-training stage (steps 1 to " +
                        std::to_string(train.image_pretrain_steps) + "); the video stage's steps can be sampled");
    if (train.checkpoint_every <= 0 || step % train.checkpoint_every != 0)
      throw ConfigError(where + " is not a step the run keeps weights at: every " +
                        std::to_string(train.checkpoint_every) + " steps (" + path +
                        ".train.checkpoint_every) and the last (" + std::to_string(total) + ")");
  }
  if (step == 0 || step == total) r.erase("checkpoint_step");
  return r;
}

namespace {

// The training run of a resolved config: everything but the step its weights are read at.
Json training_run(const Json& resolved) {
  Json run = resolved;
  run.erase("checkpoint_step");
  return run;
}

}  // namespace

std::string unet_cache_dir(const Json& resolved, const BackboneContext& ctx) {
  if (ctx.cache_dir.empty()) throw ConfigError("backbone: no checkpoint cache folder given");
  const Json key{{"backbone", training_run(resolved)}, {"data", ctx.train_data_config}, {"seed", ctx.seed},
                 {"trainer", kTrainerRevision}};
  return (fs::path(ctx.cache_dir) / "backbones" / config_hash(key)).string();
}

namespace {

void write_config_once(const std::string& dir, const Json& config) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  if (fs::exists(cfg_path)) return;
  write_file_atomically(cfg_path, config.dump(2) + "\n");
}

// What building a trained "unet" needs to train one stage.
struct StageTraining {
  const BackboneContext& ctx;
  const UNetConfig& net;
  Prediction prediction;
  const NoiseSchedule& schedule;
};

// Trains `recipe` into `dir` from the checkpoint there (or from freshly initialised weights), and
// writes dir/final.pt (the EMA weights) into `ema`.
void train_into(const StageTraining& s, const TrainConfig& recipe, const std::string& dir, VideoUNet& ema) {
  torch::manual_seed(s.ctx.seed);  // initial weights
  VideoUNet model(s.net);
  {
    torch::NoGradGuard guard;
    auto mp = model->parameters();
    auto ep = ema->parameters();
    for (size_t i = 0; i < mp.size(); ++i) ep[i].copy_(mp[i]);
  }
  TrainOptions options;
  options.dir = dir;
  options.device = s.ctx.device;
  options.seed = s.ctx.seed;
  options.keep_ema_snapshots = true;
  train_unet(model, ema, *s.ctx.train_data, s.prediction, s.schedule.alphas_cumprod, recipe, options);
  ema->to(torch::kCPU);
  save_weights(ema, (fs::path(dir) / "final.pt").string());
}

// The image stage's folder, trained once for every recipe that shares it (its key leaves out the
// fields only the video stage reads); its checkpoint.pt is where every video stage starts.
std::string ensure_image_stage(const StageTraining& s, const Json& resolved, const TrainConfig& train) {
  const Json identity = image_stage_identity(resolved, s.ctx.train_data_config, s.ctx.seed);
  const std::string dir = (fs::path(s.ctx.cache_dir) / "backbones" / config_hash(identity)).string();
  fs::create_directories(dir);
  write_config_once(dir, identity);
  const std::string done = (fs::path(dir) / "final.pt").string();
  if (fs::exists(done)) return dir;
  FileLock lock((fs::path(dir) / "lock").string());
  lock.lock("training image stage " + fs::path(dir).filename().string());
  if (fs::exists(done)) return dir;  // the process that held the lock finished it
  TrainConfig images = train;
  images.steps = 0;
  log_info("backbone: training the image stage (" + std::to_string(train.image_pretrain_steps) + " steps) into " + dir);
  VideoUNet ema(s.net);
  train_into(s, images, dir, ema);
  return dir;
}

BackbonePtr build_unet(const Json& resolved, const BackboneContext& ctx, const std::string& path) {
  Json net = resolved.at("unet");
  net["conditioning"] = resolved.at("conditioning");
  UNetConfig ucfg = UNetConfig::from_json(net, path + ".unet");
  if (ucfg.conditioning == "class") {
    if (!ctx.train_data) throw ConfigError(path + ".conditioning: class conditioning needs the training split");
    ucfg.num_classes = int64_t(ctx.train_data->class_names().size());
    if (ucfg.num_classes == 0)
      throw ConfigError(path + ".conditioning: class conditioning, but the training split has no classes");
  }
  const Prediction prediction = parse_prediction(resolved.at("prediction").get<std::string>(), path + ".prediction");
  const NoiseSchedule schedule = NoiseSchedule::from_config(resolved.at("schedule"), path + ".schedule");
  const TrainConfig train = TrainConfig::from_json(resolved.at("train"), path + ".train");

  const Json run = training_run(resolved);
  const std::string dir = unet_cache_dir(resolved, ctx);
  fs::create_directories(dir);
  const std::string final_path = (fs::path(dir) / "final.pt").string();
  write_config_once(dir, Json{{"backbone", run}, {"data", ctx.train_data_config}, {"seed", ctx.seed}});
  const StageTraining stage_training{ctx, ucfg, prediction, schedule};
  const bool staged = train.image_pretrain_steps > 0 && train.steps > 0;

  limit_blas_threads();
  VideoUNet ema(ucfg);
  bool trained = false;
  std::string image_stage_dir;
  if (!fs::exists(final_path)) {
    FileLock lock((fs::path(dir) / "lock").string());
    lock.lock("training backbone " + fs::path(dir).filename().string());
    if (!fs::exists(final_path)) {  // the process that held the lock may have finished it
      if (!ctx.train_data) throw ConfigError(path + ": backbone " + dir + " is not trained and no training split is given");
      const std::string checkpoint = (fs::path(dir) / "checkpoint.pt").string();
      if (staged && !fs::exists(checkpoint)) {
        // The video stage continues from the shared image stage's full training state (weights, EMA,
        // optimiser, step), exactly where one uninterrupted run of both stages would be.
        image_stage_dir = ensure_image_stage(stage_training, run, train);
        fs::copy_file(fs::path(image_stage_dir) / "checkpoint.pt", checkpoint + ".tmp", fs::copy_options::overwrite_existing);
        fs::rename(checkpoint + ".tmp", checkpoint);
        log_info("backbone: the video stage starts from the image stage " + image_stage_dir);
      }
      log_info("backbone: training " + resolved.at("preset").get<std::string>() + " UNet into " + dir);
      train_into(stage_training, train, dir, ema);
      trained = true;
    }
  }
  // The weights sampled with: the run's final weights, or those it kept at the checkpoint step.
  const int64_t checkpoint_step = resolved.value("checkpoint_step", int64_t(0));
  std::string weights_path = final_path;
  if (checkpoint_step > 0) {
    weights_path = ema_snapshot_path(dir, checkpoint_step);
    if (!fs::exists(weights_path))
      throw IoError(path + ".checkpoint_step: the run in " + dir + " kept no weights at step " +
                    std::to_string(checkpoint_step) + " (" + fs::path(weights_path).filename().string() +
                    "); it was trained before runs kept them: remove the folder to train it again");
  }
  if (!trained || checkpoint_step > 0) {
    log_info("backbone: loading cached weights " + weights_path);
    load_weights(ema, weights_path);
  }
  ema->eval();
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  ema->to(torch::Device(ctx.device));

  Json identity = resolved;
  identity["cache_key"] = fs::path(dir).filename().string();
  if (staged) {
    const std::string image_key = config_hash(image_stage_identity(run, ctx.train_data_config, ctx.seed));
    identity["stages"] = Json::array({Json{{"name", "images"}, {"cache_key", image_key}},
                                      Json{{"name", "videos"}, {"cache_key", identity["cache_key"]}}});
  }
  identity["weights_file"] = fs::path(weights_path).filename().string();
  identity["weights_sha256"] = sha256_file(weights_path);
  identity["num_classes"] = ucfg.num_classes;
  int64_t count = 0, temporal = 0;
  for (const auto& item : ema->named_parameters()) {
    count += item.value().numel();
    if (VideoUNetImpl::in_group(item.key(), "temporal")) temporal += item.value().numel();
  }
  identity["parameters"] = count;
  identity["temporal_parameters"] = temporal;
  identity["temporal_parameter_share"] = count > 0 ? double(temporal) / double(count) : 0.0;
  return std::make_shared<UNetBackbone>(ema.ptr(), prediction, resolved.at("schedule"), identity);
}

}  // namespace

BackboneRegistry::Entry unet_backbone_entry() {
  BackboneRegistry::Entry e;
  e.name = "unet";
  e.description = "factorised space-time UNet trained on the training split (cached by config hash)";
  e.params = unet_params();
  e.resolve = [](const Json& given, const std::string& path) {
    Json r = resolve_unet_backbone_params(given, path);
    r.erase("name");
    return r;
  };
  e.make = [](const Params& p) -> BackboneBuilder {
    const std::string path = p.path();
    const Json resolved = resolve_unet_backbone_params(p.json(), path);
    return [resolved, path](const BackboneContext& ctx) { return build_unet(resolved, ctx, path); };
  };
  return e;
}

}  // namespace vdlab
