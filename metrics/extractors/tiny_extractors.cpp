// Training and TorchScript export of the tiny extractors. The network is a torch::jit::Module whose
// forward is TorchScript source (define), trained directly: the file that is saved is the module that was
// trained, with the standard interface, and nothing has to be translated.
#include "metrics/extractors/tiny_extractors.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
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
  const std::int64_t classes = video ? kShapes + kDirections : kShapes;
  const double bound = 1.0 / std::sqrt(64.0);
  m.register_parameter("fc_w", torch::empty({classes, 64}).uniform_(-bound, bound), false);
  m.register_parameter("fc_b", torch::zeros({classes}), false);
  m.define(video ? kVideoSource : kImageSource);
  return m;
}

struct Data {
  torch::Tensor clips;      // uint8 [N, 3, T, H, W]
  torch::Tensor shape;      // int64 [N]
  torch::Tensor direction;  // int64 [N]
};

Data load_split(const TinyTrainConfig& c, const std::string& split, int clips, int seed) {
  register_builtin_datasets();
  Json cfg = {{"name", "moving-shapes"}, {"split", split}, {"clips", clips}, {"frames", c.frames},
              {"size", c.size},          {"seed", seed}};
  ClipSourcePtr source = make_dataset(cfg, "tiny extractor training data");
  Data d;
  d.clips = torch::empty({clips, 3, c.frames, c.size, c.size}, torch::kUInt8);
  d.shape = torch::empty({clips}, torch::kLong);
  d.direction = torch::empty({clips}, torch::kLong);
  for (int i = 0; i < clips; ++i) {
    const Clip clip = source->get(std::size_t(i));
    const Video& v = clip.video;
    if (v.frames != c.frames || v.height != c.size || v.width != c.size)
      throw Error("tiny extractor training: moving-shapes clip has an unexpected shape");
    auto t = torch::from_blob(const_cast<std::uint8_t*>(v.data.data()), {v.frames, v.height, v.width, 3}, torch::kUInt8);
    d.clips[i] = t.permute({3, 0, 1, 2});
    d.shape[i] = clip.label;
    double direction = 0.0;
    for (const auto& kv : clip.motion)
      if (kv.first == "direction") direction = kv.second;
    d.direction[i] = std::int64_t(std::floor(std::fmod(direction + 22.5, 360.0) / 45.0)) % kDirections;
  }
  return d;
}

// Inputs and targets of one step: clips for tiny-i3d, single frames for tiny-inception.
void batch_of(const TinyTrainConfig& c, const Data& d, const torch::Tensor& idx, torch::Tensor& x,
              torch::Tensor& shape, torch::Tensor& direction, std::mt19937_64& rng, bool augment) {
  if (c.name == "tiny-i3d") {
    x = d.clips.index_select(0, idx).clone();
    shape = d.shape.index_select(0, idx);
    direction = d.direction.index_select(0, idx).clone();
    if (!augment) return;
    // Label-preserving augmentation: playing a clip backwards turns its direction by 180 degrees (bin + 4);
    // a left-right mirror maps direction t to 180 - t (bin k to 4 - k). Shapes stay what they are.
    std::bernoulli_distribution coin(0.5);
    for (std::int64_t k = 0; k < x.size(0); ++k) {
      std::int64_t bin = direction[k].item<std::int64_t>();
      if (coin(rng)) {
        x[k] = x[k].flip({1});
        bin = (bin + 4) % kDirections;
      }
      if (coin(rng)) {
        x[k] = x[k].flip({3});
        bin = ((4 - bin) % kDirections + kDirections) % kDirections;
      }
      direction[k] = bin;
    }
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

torch::Tensor loss_of(const TinyTrainConfig& c, torch::jit::Module& m, const torch::Tensor& x,
                      const torch::Tensor& shape, const torch::Tensor& direction, torch::Tensor* logits_out) {
  torch::Tensor logits = c.name == "tiny-i3d" ? m.forward({x, true, false, false}).toTensor()
                                              : m.forward({x, false}).toTensor();
  if (logits_out) *logits_out = logits;
  torch::Tensor loss = torch::nn::functional::cross_entropy(logits.slice(1, 0, kShapes), shape);
  if (c.name == "tiny-i3d")
    loss = loss + torch::nn::functional::cross_entropy(logits.slice(1, kShapes, kShapes + kDirections), direction);
  return loss;
}

}  // namespace

Json TinyTrainConfig::to_json() const {
  return Json{{"name", name},   {"clips", clips}, {"frames", frames}, {"size", size}, {"steps", steps},
              {"batch", batch}, {"lr", lr},       {"seed", seed},     {"format", 2}};
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
  const Params p(resolve_params(overrides.is_null() ? Json::object() : overrides, specs, "tiny_train"), "tiny_train");
  c.clips = p.get<int>("clips");
  c.frames = p.get<int>("frames");
  c.size = p.get<int>("size");
  c.steps = p.get<int>("steps");
  c.batch = p.get<int>("batch");
  c.lr = p.get<double>("lr");
  c.seed = p.get<int>("seed");
  if (c.clips < 8 || c.steps < 1 || c.batch < 1 || c.frames < 4 || c.size < 8)
    throw ConfigError("tiny_train: needs clips >= 8, steps >= 1, batch >= 1, frames >= 4, size >= 8");
  return c;
}

TinyTrainResult ensure_tiny_extractor(const TinyTrainConfig& c, const std::string& cache_dir) {
  if (cache_dir.empty()) throw ConfigError("tiny extractors need a cache folder to live in (--cache)");
  namespace fs = std::filesystem;
  const std::string dir = tiny_extractor_dir(cache_dir);
  TinyTrainResult result;
  result.path = dir + "/" + c.name + "-" + config_hash(c.to_json()) + ".pt";
  if (fs::exists(result.path)) return result;
  fs::create_directories(dir);

  log_info("training " + c.name + " on moving-shapes (" + std::to_string(c.clips) + " clips, " +
           std::to_string(c.steps) + " steps); cached as " + result.path);
  torch::manual_seed(std::uint64_t(c.seed));
  torch::jit::Module m = build(c.name);
  const Data train = load_split(c, "train", c.clips, c.seed);
  const Data held_out = load_split(c, "val", 64, c.seed);

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
    std::vector<std::int64_t> pick(std::size_t(std::min(c.batch, c.clips)));
    std::uniform_int_distribution<std::int64_t> u(0, c.clips - 1);
    for (auto& i : pick) i = u(rng);
    torch::Tensor x, shape, direction;
    batch_of(c, train, torch::tensor(pick, torch::kLong), x, shape, direction, rng, true);
    opt.zero_grad();
    torch::Tensor loss = loss_of(c, m, x, shape, direction, nullptr);
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) throw NumericError("training " + c.name + ": the loss is not finite at step " + std::to_string(step));
    if (step >= c.steps - 20) recent += l, ++recent_n;
    progress.update(step + 1, "loss " + std::to_string(l));
  }
  progress.finish();
  m.eval();
  for (const auto& p : m.parameters()) p.set_requires_grad(false);
  {
    torch::NoGradGuard no_grad;
    torch::Tensor x, shape, direction, logits;
    std::vector<std::int64_t> all(64);
    for (int i = 0; i < 64; ++i) all[std::size_t(i)] = i;
    batch_of(c, held_out, torch::tensor(all, torch::kLong), x, shape, direction, rng, false);
    loss_of(c, m, x, shape, direction, &logits);
    result.accuracy = logits.slice(1, 0, kShapes).argmax(1).eq(shape).to(torch::kDouble).mean().item<double>();
    if (c.name == "tiny-i3d")
      result.direction_accuracy = logits.slice(1, kShapes, kShapes + kDirections)
                                      .argmax(1)
                                      .eq(direction)
                                      .to(torch::kDouble)
                                      .mean()
                                      .item<double>();
  }
  result.final_loss = recent_n ? recent / recent_n : 0.0;
  result.trained = true;
  log_info(c.name + ": final loss " + std::to_string(result.final_loss) + ", held-out shape accuracy " +
           std::to_string(result.accuracy) +
           (c.name == "tiny-i3d" ? ", direction accuracy " + std::to_string(result.direction_accuracy) : ""));
  AtomicFile out(result.path);
  m.save(out.temp_path());
  out.commit();
  return result;
}

}  // namespace vdlab
