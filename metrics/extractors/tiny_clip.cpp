// Training and TorchScript export of tiny-clip. As for the other tiny extractors, the network is a
// torch::jit::Module whose methods are TorchScript source, trained directly, so the saved file is the
// trained module with CLIP's interface and nothing has to be translated.
#include "metrics/extractors/tiny_clip.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/training_fault.h"
#include "metrics/extractors/extractor_files.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "metrics/metric.h"
#include "core/text/clip_tokenizer.h"

namespace vdlab {

namespace {

// encode_image takes CLIP-preprocessed 224x224 frames; the convolutions see them average-pooled to
// 32x32 (7x7 blocks), the resolution moving-shapes is drawn at. encode_text follows CLIP in taking the
// end token's position as the argmax of the ids (the end token has the largest id) and ignoring what
// follows it (the padding).
const char* kSource = R"JIT(
def encode_pooled(self, x):
    x = torch.relu(torch.conv2d(x, self.c1_w, self.c1_b, [1, 1], [1, 1]))
    x = torch.max_pool2d(x, [2, 2], [2, 2])
    x = torch.relu(torch.conv2d(x, self.c2_w, self.c2_b, [1, 1], [1, 1]))
    x = torch.max_pool2d(x, [2, 2], [2, 2])
    x = torch.relu(torch.conv2d(x, self.c3_w, self.c3_b, [1, 1], [1, 1]))
    f = torch.mean(x, [2, 3])
    return torch.linear(f, self.image_proj_w, self.image_proj_b)

def encode_image(self, image):
    return self.encode_pooled(torch.adaptive_avg_pool2d(image.float(), [32, 32]))

def encode_text(self, text):
    ids = text.long()
    end = ids.argmax(1, keepdim=True)
    positions = torch.arange(ids.size(1), device=ids.device).unsqueeze(0)
    mask = (positions <= end).float().unsqueeze(2)
    e = torch.embedding(self.token_embedding, torch.remainder(ids, self.token_embedding.size(0)))
    e = (e * mask).sum(1) / mask.sum(1)
    return torch.linear(e, self.text_proj_w, self.text_proj_b)

def forward(self, image, text):
    a = self.encode_image(image)
    b = self.encode_text(text)
    a = a / a.norm(2, [1], True)
    b = b / b.norm(2, [1], True)
    return self.logit_scale.exp() * torch.matmul(a, b.t())
)JIT";

constexpr double kMaxLogitScale = 4.6052;  // log(100), CLIP's clamp

void add_conv(torch::jit::Module& m, const std::string& name, std::int64_t out, std::int64_t in) {
  const double bound = std::sqrt(6.0 / double(in * 9));  // He uniform
  m.register_parameter(name + "_w", torch::empty({out, in, 3, 3}).uniform_(-bound, bound), false);
  m.register_parameter(name + "_b", torch::zeros({out}), false);
}

void add_linear(torch::jit::Module& m, const std::string& name, std::int64_t out, std::int64_t in) {
  const double bound = 1.0 / std::sqrt(double(in));
  m.register_parameter(name + "_w", torch::empty({out, in}).uniform_(-bound, bound), false);
  m.register_parameter(name + "_b", torch::zeros({out}), false);
}

torch::jit::Module build(const TinyClipConfig& c) {
  torch::jit::Module m("TinyClip");
  add_conv(m, "c1", 32, 3);
  add_conv(m, "c2", 64, 32);
  add_conv(m, "c3", 64, 64);
  add_linear(m, "image_proj", c.dim, 64);
  m.register_parameter("token_embedding", torch::randn({kTinyClipTokenBuckets, 64}) * 0.1, false);
  add_linear(m, "text_proj", c.dim, 64);
  m.register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)), false);
  m.define(kSource);
  return m;
}

// CLIP's image preprocessing (as Extractor::clip_image_embeddings does it: shorter side to 224 bicubic
// with antialiasing, centre crop, rounded to the uint8 grid, [0, 1], CLIP mean and std), then the 7x7
// average pooling encode_image starts with: what the convolutions see, computed once for the training set.
torch::Tensor preprocess_pooled(const torch::Tensor& frames_uint8_nchw) {
  const torch::Tensor mean = torch::tensor({0.48145466f, 0.4578275f, 0.40821073f}).view({1, 3, 1, 1});
  const torch::Tensor stdev = torch::tensor({0.26862954f, 0.26130258f, 0.27577711f}).view({1, 3, 1, 1});
  std::vector<torch::Tensor> parts;
  for (std::int64_t i = 0; i < frames_uint8_nchw.size(0); i += 128) {
    torch::Tensor x = frames_uint8_nchw.slice(0, i, std::min<std::int64_t>(i + 128, frames_uint8_nchw.size(0)));
    x = x.to(torch::kFloat);
    const auto h = x.size(2), w = x.size(3);
    const double scale = 224.0 / double(std::min(h, w));
    const std::int64_t nh = std::max<std::int64_t>(224, std::llround(double(h) * scale));
    const std::int64_t nw = std::max<std::int64_t>(224, std::llround(double(w) * scale));
    x = at::_upsample_bicubic2d_aa(x, {nh, nw}, false, c10::nullopt, c10::nullopt);
    x = x.slice(2, (nh - 224) / 2, (nh - 224) / 2 + 224).slice(3, (nw - 224) / 2, (nw - 224) / 2 + 224);
    x = (x.round().clamp(0, 255) / 255.0 - mean) / stdev;
    parts.push_back(torch::adaptive_avg_pool2d(x, {32, 32}));
  }
  return torch::cat(parts);
}

struct TrainingSet {
  torch::Tensor images;  // float [M, 3, 32, 32], pooled CLIP-preprocessed frames
  torch::Tensor tokens;  // int64 [M, 77], the caption of each frame's clip
};

TrainingSet load_training_set(const TinyClipConfig& c, const ClipTokenizer& tokenizer) {
  register_builtin_datasets();
  ClipSourcePtr source = make_dataset(c.train_data(), "tiny-clip training data");
  std::vector<torch::Tensor> frames;
  std::vector<std::int64_t> tokens;
  for (std::size_t i = 0; i < source->size(); ++i) {
    const Clip clip = source->get(i);
    const Video& v = clip.video;
    const std::vector<std::int64_t> ids = tokenizer.tokenize(clip.caption);
    for (int f = 0; f < v.frames; f += c.frame_stride) {
      auto t = torch::from_blob(const_cast<std::uint8_t*>(v.frame(f)), {v.height, v.width, 3}, torch::kUInt8);
      frames.push_back(t.permute({2, 0, 1}).clone());
      tokens.insert(tokens.end(), ids.begin(), ids.end());
    }
  }
  TrainingSet s;
  s.images = preprocess_pooled(torch::stack(frames));
  s.tokens = torch::tensor(tokens, torch::kLong).view({std::int64_t(frames.size()), ClipTokenizer::kContextLength});
  return s;
}

torch::Tensor normalised(const torch::Tensor& x) { return x / x.norm(2, {1}, true).clamp_min(1e-12); }

}  // namespace

Json TinyClipConfig::train_data() const {
  return Json{{"name", "moving-shapes"}, {"split", "train"},      {"clips", clips},
              {"frames", frames},        {"size", size},          {"seed", seed},
              {"held_out", held_out},    {"combinations", "seen"}};
}

Json TinyClipConfig::to_json() const {
  return Json{{"name", "tiny-clip"}, {"data", train_data()}, {"frame_stride", frame_stride},
              {"steps", steps},      {"batch", batch},       {"dim", dim},
              {"lr", lr},            {"seed", seed},         {"token_buckets", kTinyClipTokenBuckets},
              {"format", 1}};
}

TinyClipConfig TinyClipConfig::make(const Json& overrides) {
  TinyClipConfig c;
  const ParamSpecs specs = {{"clips", c.clips, "moving-shapes train clips (combinations: seen)"},
                            {"frames", c.frames, "frames per clip"},
                            {"size", c.size, "frame size"},
                            {"frame_stride", c.frame_stride, "every n-th frame of a clip is a training image"},
                            {"steps", c.steps, "optimiser steps"},
                            {"batch", c.batch, "(frame, caption) pairs per step"},
                            {"dim", c.dim, "embedding size"},
                            {"lr", c.lr, "Adam learning rate"},
                            {"seed", c.seed, "data, initialisation and batch order seed"},
                            {"held_out", c.held_out, "colour-shape pairs never shown in training"}};
  const Params p(resolve_params(overrides.is_null() ? Json::object() : overrides, specs, "tiny_train"), "tiny_train");
  c.clips = p.get<int>("clips");
  c.frames = p.get<int>("frames");
  c.size = p.get<int>("size");
  c.frame_stride = p.get<int>("frame_stride");
  c.steps = p.get<int>("steps");
  c.batch = p.get<int>("batch");
  c.dim = p.get<int>("dim");
  c.lr = p.get<double>("lr");
  c.seed = p.get<int>("seed");
  c.held_out = p.at("held_out");
  if (c.clips < 2 || c.steps < 1 || c.batch < 2 || c.frames < 1 || c.size < 8 || c.frame_stride < 1 || c.dim < 2)
    throw ConfigError("tiny_train: needs clips >= 2, steps >= 1, batch >= 2, frames >= 1, size >= 8, "
                      "frame_stride >= 1, dim >= 2");
  register_builtin_datasets();
  make_dataset(c.train_data(), "tiny_train");  // checks held_out now, with the field named
  return c;
}

std::string cached_tiny_clip_path(const TinyClipConfig& c, const std::string& cache_dir) {
  return tiny_extractor_dir(cache_dir) + "/tiny-clip-" + config_hash(c.to_json()) + ".pt";
}

TinyClipResult ensure_tiny_clip(const TinyClipConfig& c, const std::string& cache_dir, const std::string& vocab_path) {
  if (cache_dir.empty()) throw ConfigError("tiny-clip is trained into the cache folder, and none is set (--cache)");
  namespace fs = std::filesystem;
  const std::string dir = tiny_extractor_dir(cache_dir);
  TinyClipResult result;
  result.path = cached_tiny_clip_path(c, cache_dir);
  if (fs::exists(result.path)) return result;
  fs::create_directories(dir);

  log_info("training tiny-clip on moving-shapes frames and captions (" + std::to_string(c.clips) + " clips, " +
           std::to_string(c.steps) + " steps); cached as " + result.path);
  const ClipTokenizer tokenizer(vocab_path);
  torch::manual_seed(std::uint64_t(c.seed));
  torch::jit::Module m = build(c);
  const TrainingSet data = load_training_set(c, tokenizer);
  const std::int64_t n = data.images.size(0);

  std::vector<torch::Tensor> params;
  for (const auto& p : m.parameters()) {
    p.set_requires_grad(true);
    params.push_back(p);
  }
  torch::optim::Adam opt(params, torch::optim::AdamOptions(c.lr));
  torch::Tensor logit_scale = m.attr("logit_scale").toTensor();
  auto encode_pooled = m.get_method("encode_pooled");
  auto encode_text = m.get_method("encode_text");
  std::mt19937_64 rng(std::uint64_t(c.seed) * 7919 + 3);
  std::uniform_int_distribution<std::int64_t> pick(0, n - 1);
  const std::int64_t batch = std::min<std::int64_t>(c.batch, n);
  const torch::Tensor targets = torch::arange(batch, torch::kLong);
  Progress progress("train tiny-clip", c.steps);
  double recent = 0.0;
  int recent_n = 0;
  for (int step = 0; step < c.steps; ++step) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(batch));
    for (auto& i : idx) i = pick(rng);
    const torch::Tensor index = torch::tensor(idx, torch::kLong);
    const torch::Tensor image = normalised(encode_pooled({data.images.index_select(0, index)}).toTensor());
    const torch::Tensor text = normalised(encode_text({data.tokens.index_select(0, index)}).toTensor());
    const torch::Tensor logits = logit_scale.exp() * torch::matmul(image, text.t());
    torch::Tensor loss = 0.5 * (torch::nn::functional::cross_entropy(logits, targets) +
                                torch::nn::functional::cross_entropy(logits.t(), targets));
    opt.zero_grad();
    loss.backward();
    opt.step();
    {
      torch::NoGradGuard no_grad;
      logit_scale.clamp_(0.0, kMaxLogitScale);
    }
    const double l = loss.item<double>();
    if (!std::isfinite(l)) {
      int64_t bad = 0, all = 0;
      for (const auto& p : m.parameters()) {
        bad += p.numel() - torch::isfinite(p).sum().item<int64_t>();
        all += p.numel();
      }
      throw non_finite_training_loss("tiny-clip", step + 1, c.steps, l,
                                     "its weights hold " + std::to_string(bad) + " non-finite values of " +
                                         std::to_string(all) + " after the step");
    }
    if (step >= c.steps - 20) recent += l, ++recent_n;
    progress.update(step + 1, "loss " + std::to_string(l));
  }
  progress.finish();
  for (const auto& p : m.parameters()) p.set_requires_grad(false);
  m.eval();
  result.final_loss = recent_n ? recent / recent_n : 0.0;
  result.temperature = std::exp(-logit_scale.item<double>());
  result.trained = true;
  log_info("tiny-clip: final loss " + std::to_string(result.final_loss) + ", temperature " +
           std::to_string(result.temperature));
  AtomicFile out(result.path);
  m.save(out.temp_path());
  out.commit();
  return result;
}

}  // namespace vdlab
