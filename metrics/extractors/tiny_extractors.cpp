// Training and TorchScript export of the tiny extractors. The network is a torch::jit::Module whose
// forward is TorchScript source (define), trained directly: the file that is saved is the module that was
// trained, with the standard interface, and nothing has to be translated.
#include "metrics/extractors/tiny_extractors.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/training_fault.h"
#include "metrics/extractors/extractor_files.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "metrics/metric.h"

namespace vdlab {

namespace {

const char* kImageSource = R"JIT(
def forward(self, img, return_features: bool = False):
    x = img.float()
    x = torch.adaptive_avg_pool2d(x, [32, 32])
    x = x / 127.5 - 1.0
    x = torch.relu(torch.conv2d(x, self.c1_w, self.c1_b, [1, 1], [1, 1]))
    x = torch.max_pool2d(x, [2, 2], [2, 2])
    x = torch.relu(torch.conv2d(x, self.c2_w, self.c2_b, [1, 1], [1, 1]))
    x = torch.max_pool2d(x, [2, 2], [2, 2])
    x = torch.relu(torch.conv2d(x, self.c3_w, self.c3_b, [1, 1], [1, 1]))
    f = torch.mean(x, [2, 3])
    if return_features:
        return f
    return torch.linear(f, self.fc_w, self.fc_b)
)JIT";

const char* kVideoSource = R"JIT(
def forward(self, x, rescale: bool = False, resize: bool = False, return_features: bool = False):
    v = x.float()
    if rescale:
        v = v / 127.5 - 1.0
    if resize:
        v = torch.adaptive_avg_pool3d(v, [v.size(2), 32, 32])
    v = torch.relu(torch.conv3d(v, self.c1_w, self.c1_b, [1, 2, 2], [1, 1, 1]))
    v = torch.relu(torch.conv3d(v, self.c2_w, self.c2_b, [2, 2, 2], [1, 1, 1]))
    v = torch.relu(torch.conv3d(v, self.c3_w, self.c3_b, [2, 2, 2], [1, 1, 1]))
    f = torch.mean(v, [2, 3, 4])
    if return_features:
        return f
    return torch.linear(f, self.fc_w, self.fc_b)
)JIT";

constexpr int kShapes = 3;
constexpr int kDirections = 8;
constexpr int kSpeeds = 2;  // below / above the middle of moving-shapes' speed range (its caption's slowly / quickly)
constexpr int kOrders = 2;  // frames in their order / shuffled
constexpr std::int64_t kIgnore = -100;  // a target without a label (cross_entropy's ignore_index)

// tiny-i3d's logits: shape, direction, speed, order, in that order.
constexpr int kDirectionAt = kShapes, kSpeedAt = kDirectionAt + kDirections, kOrderAt = kSpeedAt + kSpeeds,
              kVideoClasses = kOrderAt + kOrders;

void add_conv(torch::jit::Module& m, const std::string& name, std::vector<std::int64_t> shape) {
  std::int64_t fan_in = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const double bound = std::sqrt(6.0 / double(fan_in));  // He uniform
  m.register_parameter(name + "_w", torch::empty(shape).uniform_(-bound, bound), false);
  m.register_parameter(name + "_b", torch::zeros({shape[0]}), false);
}

torch::jit::Module build(const std::string& name) {
  const bool video = name == "tiny-i3d";
  torch::jit::Module m(video ? "TinyI3D" : "TinyInception");
  const std::vector<std::int64_t> k = video ? std::vector<std::int64_t>{3, 3, 3} : std::vector<std::int64_t>{3, 3};
  auto shape = [&](std::int64_t out, std::int64_t in) {
    std::vector<std::int64_t> s{out, in};
    s.insert(s.end(), k.begin(), k.end());
    return s;
  };
  add_conv(m, "c1", shape(16, 3));
  add_conv(m, "c2", shape(32, 16));
  add_conv(m, "c3", shape(64, 32));
  const std::int64_t classes = video ? kVideoClasses : kShapes;
  const double bound = 1.0 / std::sqrt(64.0);
  m.register_parameter("fc_w", torch::empty({classes, 64}).uniform_(-bound, bound), false);
  m.register_parameter("fc_b", torch::zeros({classes}), false);
  m.define(video ? kVideoSource : kImageSource);
  return m;
}

struct Data {
  torch::Tensor clips;      // uint8 [N, 3, T, H, W]
  torch::Tensor shape;      // int64 [N] (kIgnore without labels)
  torch::Tensor direction;  // int64 [N]
  torch::Tensor speed;      // int64 [N]
  bool labelled = false;    // moving-shapes: shape, direction and speed are known
};

// Clips of a dataset config; moving-shapes clips carry their shape, direction and speed classes, other
// data (a video-folder split) only what the order objective needs: the frames.
Data load_data(const Json& cfg, int limit) {
  register_builtin_datasets();
  ClipSourcePtr source = make_dataset(cfg, "tiny extractor training data");
  const int n = limit > 0 ? std::min(limit, int(source->size())) : int(source->size());
  if (n < 2) throw ConfigError("tiny extractor training data " + cfg.dump() + ": needs at least 2 clips");
  Data d;
  d.labelled = cfg.at("name") == "moving-shapes";
  d.shape = torch::full({n}, kIgnore, torch::kLong);
  d.direction = torch::full({n}, kIgnore, torch::kLong);
  d.speed = torch::full({n}, kIgnore, torch::kLong);
  for (int i = 0; i < n; ++i) {
    const Clip clip = source->get(std::size_t(i));
    const Video& v = clip.video;
    if (i == 0) d.clips = torch::empty({n, 3, v.frames, v.height, v.width}, torch::kUInt8);
    if (v.frames != d.clips.size(2) || v.height != d.clips.size(3) || v.width != d.clips.size(4))
      throw Error("tiny extractor training: clip " + clip.id + " differs in shape from the first clip");
    auto t = torch::from_blob(const_cast<std::uint8_t*>(v.data.data()), {v.frames, v.height, v.width, 3}, torch::kUInt8);
    d.clips[i] = t.permute({3, 0, 1, 2});
    if (!d.labelled) continue;
    d.shape[i] = clip.label;
    double direction = 0.0, speed = 0.0;
    for (const auto& kv : clip.motion) {
      if (kv.first == "direction") direction = kv.second;
      if (kv.first == "speed") speed = kv.second;
    }
    d.direction[i] = std::int64_t(std::floor(std::fmod(direction + 22.5, 360.0) / 45.0)) % kDirections;
    // The caption's speed word: "quickly" above the middle of the speed range.
    const double middle = 0.5 * (source->describe().value("min_speed", 0.5) + source->describe().value("max_speed", 2.0));
    d.speed[i] = speed > middle ? 1 : 0;
  }
  return d;
}

// A random order of n frames that is not the identity.
std::vector<std::int64_t> shuffled_order(std::int64_t n, std::mt19937_64& rng) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[std::size_t(i)] = i;
  if (n < 2) return order;
  bool identity = true;
  while (identity) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::int64_t i = 0; i < n && identity; ++i) identity = order[std::size_t(i)] == i;
  }
  return order;
}

// Inputs and targets of one step: clips for tiny-i3d, single frames for tiny-inception.
struct Targets {
  torch::Tensor shape, direction, speed, order;
};

void batch_of(const TinyTrainConfig& c, const Data& d, const torch::Tensor& idx, torch::Tensor& x, Targets& y,
              std::mt19937_64& rng, bool augment) {
  torch::Tensor& shape = y.shape;
  if (c.name == "tiny-i3d") {
    x = d.clips.index_select(0, idx).clone();
    shape = d.shape.index_select(0, idx);
    torch::Tensor& direction = y.direction;
    direction = d.direction.index_select(0, idx).clone();
    y.speed = d.speed.index_select(0, idx).clone();
    // The order objective: half the clips (every other one when not augmenting, so evaluation is fixed)
    // have their frames shuffled; telling them apart needs the features to follow the frame order. A
    // shuffled clip has no direction or speed.
    y.order = torch::zeros({x.size(0)}, torch::kLong);
    std::bernoulli_distribution half(0.5);
    for (std::int64_t k = 0; k < x.size(0); ++k) {
      if (augment ? !half(rng) : k % 2 == 0) continue;
      x[k] = x[k].index_select(1, torch::tensor(shuffled_order(x.size(2), rng), torch::kLong));
      y.order[k] = 1;
      direction[k] = kIgnore;
      y.speed[k] = kIgnore;
    }
    if (!augment) return;
    // Label-preserving augmentation: playing a clip backwards turns its direction by 180 degrees (bin + 4);
    // a left-right mirror maps direction t to 180 - t (bin k to 4 - k). Shapes stay what they are.
    std::bernoulli_distribution coin(0.5);
    for (std::int64_t k = 0; k < x.size(0); ++k) {
      std::int64_t bin = direction[k].item<std::int64_t>();
      const bool known = bin != kIgnore;
      if (coin(rng)) {
        x[k] = x[k].flip({1});
        bin = (bin + 4) % kDirections;
      }
      if (coin(rng)) {
        x[k] = x[k].flip({3});
        bin = ((4 - bin) % kDirections + kDirections) % kDirections;
      }
      if (known) direction[k] = bin;
    }
    // Pixel noise of a random strength per clip (up to about what a lossy re-encode adds), so that the
    // features follow content and order rather than the exact pixel values.
    torch::Tensor sigma = torch::rand({x.size(0), 1, 1, 1, 1}) * 6.0;
    x = (x.to(torch::kFloat) + torch::randn(x.sizes()) * sigma).round().clamp(0, 255);
    return;
  }
  // tiny-inception: 4 random frames of each selected clip.
  std::vector<torch::Tensor> frames;
  std::vector<std::int64_t> labels;
  std::uniform_int_distribution<int> pick(0, c.frames - 1);
  for (std::int64_t k = 0; k < idx.size(0); ++k) {
    const std::int64_t i = idx[k].item<std::int64_t>();
    for (int r = 0; r < 4; ++r) {
      frames.push_back(d.clips[i].select(1, pick(rng)));  // [3, H, W]
      labels.push_back(d.shape[i].item<std::int64_t>());
    }
  }
  x = torch::stack(frames);
  shape = torch::tensor(labels, torch::kLong);
}

// How many of a module's weights are NaN or Inf, for the error of a diverged loss.
std::string non_finite_weights(const torch::jit::Module& m) {
  int64_t bad = 0, all = 0;
  for (const auto& p : m.parameters()) {
    bad += p.numel() - torch::isfinite(p).sum().item<int64_t>();
    all += p.numel();
  }
  return "its weights hold " + std::to_string(bad) + " non-finite values of " + std::to_string(all) + " after the step";
}

torch::Tensor loss_of(const TinyTrainConfig& c, torch::jit::Module& m, const torch::Tensor& x, const Targets& y,
                      bool labelled, torch::Tensor* logits_out) {
  namespace F = torch::nn::functional;
  // tiny-i3d trains through the stylegan-v call (rescale and resize on), the way FVD calls it.
  torch::Tensor logits = c.name == "tiny-i3d" ? m.forward({x, true, true, false}).toTensor()
                                              : m.forward({x, false}).toTensor();
  if (logits_out) *logits_out = logits;
  if (c.name != "tiny-i3d") return F::cross_entropy(logits.slice(1, 0, kShapes), y.shape);
  const auto ignoring = F::CrossEntropyFuncOptions().ignore_index(kIgnore);
  torch::Tensor loss = F::cross_entropy(logits.slice(1, kOrderAt, kOrderAt + kOrders), y.order);
  if (labelled)
    loss = loss + F::cross_entropy(logits.slice(1, 0, kShapes), y.shape, ignoring) +
           F::cross_entropy(logits.slice(1, kDirectionAt, kDirectionAt + kDirections), y.direction, ignoring) +
           F::cross_entropy(logits.slice(1, kSpeedAt, kSpeedAt + kSpeeds), y.speed, ignoring);
  return loss;
}

// Share of the labelled targets that the logits' argmax over [from, from + n) gets right.
double accuracy_of(const torch::Tensor& logits, int from, int n, const torch::Tensor& target) {
  const torch::Tensor known = target.ne(kIgnore);
  if (known.sum().item<std::int64_t>() == 0) return 0.0;
  const torch::Tensor right = logits.slice(1, from, from + n).argmax(1).eq(target).logical_and(known);
  return right.sum().item<double>() / known.sum().item<double>();
}

}  // namespace

Json TinyTrainConfig::to_json() const {
  Json j{{"name", name},   {"clips", clips}, {"frames", frames}, {"size", size}, {"steps", steps},
         {"batch", batch}, {"lr", lr},       {"seed", seed},     {"format", 2}};
  // tiny-i3d since the order objective: its training data is part of its key (format 3).
  if (name == "tiny-i3d") {
    j["format"] = 3;
    j["data"] = train_data();
  }
  return j;
}

Json TinyTrainConfig::train_data() const {
  if (!data.is_null()) return data;
  return Json{{"name", "moving-shapes"}, {"split", "train"}, {"clips", clips}, {"frames", frames},
              {"size", size},            {"seed", seed}};
}

TinyTrainConfig TinyTrainConfig::make(const std::string& name, const Json& overrides) {
  if (name != "tiny-i3d" && name != "tiny-inception")
    throw ConfigError("tiny extractor '" + name + "': expected tiny-i3d or tiny-inception");
  TinyTrainConfig c;
  c.name = name;
  if (name == "tiny-inception") {
    c.steps = 300;
    c.batch = 32;
  }
  const ParamSpecs specs = {{"clips", c.clips, "moving-shapes train clips"},
                            {"frames", c.frames, "frames per clip"},
                            {"size", c.size, "frame size"},
                            {"steps", c.steps, "optimiser steps"},
                            {"batch", c.batch, "clips per step"},
                            {"lr", c.lr, "Adam learning rate"},
                            {"seed", c.seed, "initialisation and data order seed"}};
  ParamSpecs all = specs;
  if (name == "tiny-i3d")
    all.push_back({"data", nullptr,
                   "training clips as a dataset config (for example a video-folder train split of the evaluation "
                   "domain: {name: video-folder, root: ..., split: train}); default the moving-shapes train split. "
                   "Without moving-shapes labels only the frame-order objective trains"});
  const Params p(resolve_params(overrides.is_null() ? Json::object() : overrides, all, "tiny_train"), "tiny_train");
  c.clips = p.get<int>("clips");
  c.frames = p.get<int>("frames");
  c.size = p.get<int>("size");
  c.steps = p.get<int>("steps");
  c.batch = p.get<int>("batch");
  c.lr = p.get<double>("lr");
  c.seed = p.get<int>("seed");
  if (name == "tiny-i3d" && p.has("data")) {
    if (!p.at("data").is_object()) p.fail("data", "expects a dataset config mapping ({name: video-folder, ...})");
    register_builtin_datasets();
    c.data = make_dataset(p.at("data"), "tiny_train.data")->describe();  // resolved: defaults are part of the key
    c.data["name"] = p.at("data").at("name");
  }
  if (c.clips < 8 || c.steps < 1 || c.batch < 1 || c.frames < 4 || c.size < 8)
    throw ConfigError("tiny_train: needs clips >= 8, steps >= 1, batch >= 1, frames >= 4, size >= 8");
  return c;
}

std::string cached_tiny_extractor_path(const TinyTrainConfig& c, const std::string& cache_dir) {
  return tiny_extractor_dir(cache_dir) + "/" + c.name + "-" + config_hash(c.to_json()) + ".pt";
}

TinyTrainResult ensure_tiny_extractor(const TinyTrainConfig& c, const std::string& cache_dir) {
  if (cache_dir.empty()) throw ConfigError("tiny extractors need a cache folder to live in (--cache)");
  namespace fs = std::filesystem;
  const std::string dir = tiny_extractor_dir(cache_dir);
  TinyTrainResult result;
  result.path = cached_tiny_extractor_path(c, cache_dir);
  if (fs::exists(result.path)) return result;
  fs::create_directories(dir);

  const Json data = c.name == "tiny-i3d" ? c.train_data()
                                          : Json{{"name", "moving-shapes"}, {"split", "train"}, {"clips", c.clips},
                                                 {"frames", c.frames}, {"size", c.size}, {"seed", c.seed}};
  log_info("training " + c.name + " on " + data.dump() + " (" + std::to_string(c.steps) + " steps); cached as " +
           result.path);
  torch::manual_seed(std::uint64_t(c.seed));
  torch::jit::Module m = build(c.name);
  const Data train = load_data(data, c.clips);
  // Accuracies on held-out clips: moving-shapes' val split; other data has no second split to draw from
  // here, so its order accuracy is measured on (newly shuffled) training clips.
  Json held_out_cfg = data;
  if (train.labelled) {
    held_out_cfg["split"] = "val";
    held_out_cfg["clips"] = 64;
  }
  const Data held_out = load_data(held_out_cfg, 64);
  const int n_train = int(train.clips.size(0));

  std::vector<torch::Tensor> params;
  for (const auto& p : m.parameters()) {
    p.set_requires_grad(true);
    params.push_back(p);
  }
  torch::optim::Adam opt(params, torch::optim::AdamOptions(c.lr).weight_decay(1e-4));
  std::mt19937_64 rng(std::uint64_t(c.seed) * 7919 + 1);
  Progress progress("train " + c.name, c.steps);
  double recent = 0.0;
  int recent_n = 0;
  m.train();
  for (int step = 0; step < c.steps; ++step) {
    std::vector<std::int64_t> pick(std::size_t(std::min(c.batch, n_train)));
    std::uniform_int_distribution<std::int64_t> u(0, n_train - 1);
    for (auto& i : pick) i = u(rng);
    torch::Tensor x;
    Targets y;
    batch_of(c, train, torch::tensor(pick, torch::kLong), x, y, rng, true);
    opt.zero_grad();
    torch::Tensor loss = loss_of(c, m, x, y, train.labelled, nullptr);
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) throw non_finite_training_loss(c.name, step + 1, c.steps, l, non_finite_weights(m));
    if (step >= c.steps - 20) recent += l, ++recent_n;
    progress.update(step + 1, "loss " + std::to_string(l));
  }
  progress.finish();
  m.eval();
  for (const auto& p : m.parameters()) p.set_requires_grad(false);
  {
    torch::NoGradGuard no_grad;
    torch::Tensor x, logits;
    Targets y;
    batch_of(c, held_out, torch::arange(held_out.clips.size(0), torch::kLong), x, y, rng, false);
    loss_of(c, m, x, y, held_out.labelled, &logits);
    result.accuracy = accuracy_of(logits, 0, kShapes, y.shape);
    if (c.name == "tiny-i3d") {
      result.direction_accuracy = accuracy_of(logits, kDirectionAt, kDirections, y.direction);
      result.speed_accuracy = accuracy_of(logits, kSpeedAt, kSpeeds, y.speed);
      result.order_accuracy = accuracy_of(logits, kOrderAt, kOrders, y.order);
    }
  }
  result.final_loss = recent_n ? recent / recent_n : 0.0;
  result.trained = true;
  log_info(c.name + ": final loss " + std::to_string(result.final_loss) + ", held-out shape accuracy " +
           std::to_string(result.accuracy) +
           (c.name == "tiny-i3d" ? ", direction accuracy " + std::to_string(result.direction_accuracy) +
                                       ", speed accuracy " + std::to_string(result.speed_accuracy) +
                                       ", frame-order accuracy " + std::to_string(result.order_accuracy)
                                 : ""));
  AtomicFile out(result.path);
  m.save(out.temp_path());
  out.commit();
  return result;
}

}  // namespace vdlab
