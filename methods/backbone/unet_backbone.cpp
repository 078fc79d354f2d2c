#include "methods/backbone/unet_backbone.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/suggest.h"
#include "core/log.h"
#include "methods/backbone/file_lock.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {

namespace fs = std::filesystem;

UNetBackbone::UNetBackbone(std::shared_ptr<VideoUNetImpl> module, Prediction prediction, Json schedule, Json identity)
    : module_(std::move(module)), prediction_(prediction), schedule_(std::move(schedule)), identity_(std::move(identity)) {}

const UNetConfig& UNetBackbone::unet_config() const { return module_->config(); }
int64_t UNetBackbone::channels() const { return module_->config().out_channels; }
bool UNetBackbone::conditional() const { return module_->config().conditioning != "none"; }
void UNetBackbone::to(const torch::Device& device) { module_->to(device); }

UNetOutput UNetBackbone::forward_with(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond,
                                      const UNetForwardOptions& options) {
  return module_->forward(x, t, cond.labels, cond.captions, options);
}

torch::Tensor UNetBackbone::forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) {
  return module_->forward(x, t, cond.labels, cond.captions).prediction;
}

namespace {

const ParamSpecs& unet_params() {
  static const ParamSpecs specs = {
      {"preset", "tiny", "network size: tiny (CPU demos and tests), small, base (GPUs)", {"tiny", "small", "base"}, {}},
      {"prediction", "eps", "what the network predicts", {"eps", "v", "x0"}, {}},
      {"conditioning", "none", "none, class (the split's labels) or caption (hashed bag of words)",
       {"none", "class", "caption"}, {}},
      {"schedule", Json::object(), "training noise schedule {betas, beta_start, beta_end, num_train_timesteps}", {}, {}},
      {"train", Json::object(), "training recipe {steps, image_pretrain_steps, batch_size, lr, ema, ptss_p, noise, ...}",
       {}, {}},
      {"unet", Json::object(), "overrides of the preset's network fields (base_channels, channel_mult, ...)", {}, {}},
  };
  return specs;
}

UNetConfig unet_config_of(const Json& resolved, const std::string& path) {
  Json j = UNetConfig::preset(resolved.at("preset").get<std::string>(), path + ".preset").to_json();
  for (auto it = resolved.at("unet").begin(); it != resolved.at("unet").end(); ++it) {
    if (!j.contains(it.key())) {
      std::vector<std::string> known;
      for (auto k = j.begin(); k != j.end(); ++k) known.push_back(k.key());
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
  TrainConfig::from_json(r.at("train"), path + ".train");
  // The network as built, so that a changed preset default changes the key too.
  Json unet = unet_config_of(r, path).to_json();
  unet.erase("conditioning");
  unet.erase("num_classes");
  r["unet"] = unet;
  r["name"] = "unet";
  return r;
}

std::string unet_cache_dir(const Json& resolved, const BackboneContext& ctx) {
  if (ctx.cache_dir.empty()) throw ConfigError("backbone: no checkpoint cache folder given");
  const Json key{{"backbone", resolved}, {"data", ctx.train_data_config}, {"seed", ctx.seed}};
  return (fs::path(ctx.cache_dir) / "backbones" / config_hash(key)).string();
}

namespace {

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

  const std::string dir = unet_cache_dir(resolved, ctx);
  fs::create_directories(dir);
  const std::string final_path = (fs::path(dir) / "final.pt").string();
  {
    const std::string cfg_path = (fs::path(dir) / "config.json").string();
    if (!fs::exists(cfg_path)) {
      AtomicFile out(cfg_path);
      std::ofstream(out.temp_path()) << Json{{"backbone", resolved}, {"data", ctx.train_data_config}, {"seed", ctx.seed}}
                                            .dump(2)
                                     << "\n";
      out.commit();
    }
  }

  limit_blas_threads();
  VideoUNet ema(ucfg);
  bool trained = false;
  if (!fs::exists(final_path)) {
    FileLock lock((fs::path(dir) / "lock").string());
    lock.lock("training backbone " + fs::path(dir).filename().string());
    if (!fs::exists(final_path)) {  // the process that held the lock may have finished it
      if (!ctx.train_data) throw ConfigError(path + ": backbone " + dir + " is not trained and no training split is given");
      torch::manual_seed(ctx.seed);  // initial weights
      VideoUNet model(ucfg);
      {
        torch::NoGradGuard guard;
        auto mp = model->parameters();
        auto ep = ema->parameters();
        for (size_t i = 0; i < mp.size(); ++i) ep[i].copy_(mp[i]);
      }
      TrainOptions options;
      options.dir = dir;
      options.device = ctx.device;
      options.seed = ctx.seed;
      log_info("backbone: training " + resolved.at("preset").get<std::string>() + " UNet into " + dir);
      train_unet(model, ema, *ctx.train_data, prediction, schedule.alphas_cumprod, train, options);
      ema->to(torch::kCPU);
      save_weights(ema, final_path);
      trained = true;
    }
  }
  if (!trained) {
    log_info("backbone: loading cached weights " + final_path);
    load_weights(ema, final_path);
  }
  ema->eval();
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  ema->to(torch::Device(ctx.device));

  Json identity = resolved;
  identity["cache_key"] = fs::path(dir).filename().string();
  identity["weights_sha256"] = sha256_file(final_path);
  identity["num_classes"] = ucfg.num_classes;
  identity["parameters"] = int64_t(0);
  int64_t count = 0;
  for (auto& p : ema->parameters()) count += p.numel();
  identity["parameters"] = count;
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
