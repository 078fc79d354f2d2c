#include "methods/backbone/unet.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/suggest.h"

namespace vdlab {

namespace F = torch::nn::functional;

torch::Tensor timestep_features(const torch::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(t.device());
  auto k = torch::arange(half, opts);
  auto freqs = torch::exp(k * (-std::log(10000.0) / double(half)));
  auto args = t.to(torch::kFloat32).reshape({-1, 1}) * freqs.reshape({1, -1});
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

std::vector<int64_t> caption_tokens(const std::string& caption, int64_t vocab) {
  std::vector<int64_t> out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : word) {
      h ^= c;
      h *= 1099511628211ull;
    }
    out.push_back(int64_t(h % uint64_t(vocab)));
    word.clear();
  };
  for (char c : caption) {
    if (std::isalnum(static_cast<unsigned char>(c))) word.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    else flush();
  }
  flush();
  return out;
}

std::vector<int64_t> caption_ids(const UNetConfig& config, const ClipTokenizer* tokenizer, const std::string& caption) {
  if (config.conditioning == "caption") return caption_tokens(caption, config.caption_vocab);
  if (!tokenizer) throw Error("backbone: clip-caption conditioning without a tokenizer");
  std::vector<int64_t> out;
  for (int id : tokenizer->encode(caption)) out.push_back(int64_t(id) % config.caption_vocab);
  return out;
}

// ---- blocks -------------------------------------------------------------------------------------

ResBlockImpl::ResBlockImpl(int64_t in, int64_t out, int64_t emb_dim, int64_t groups) {
  norm1 = register_module("norm1", torch::nn::GroupNorm(groups, in));
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
  emb_proj = register_module("emb_proj", torch::nn::Linear(emb_dim, out));
  norm2 = register_module("norm2", torch::nn::GroupNorm(groups, out));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)));
  if (in != out) skip = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
  torch::NoGradGuard guard;
  conv2->weight.zero_();
  conv2->bias.zero_();
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& h, const torch::Tensor& emb) {
  auto y = conv1(F::silu(norm1(h)));
  y = y + emb_proj(F::silu(emb)).unsqueeze(-1).unsqueeze(-1);
  y = conv2(F::silu(norm2(y)));
  return (skip ? skip(h) : h) + y;
}

SpatialAttentionImpl::SpatialAttentionImpl(int64_t channels, int64_t heads, int64_t groups) : heads_(heads) {
  norm = register_module("norm", torch::nn::GroupNorm(groups, channels));
  qkv = register_module("qkv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 3 * channels, 1)));
  proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
  torch::NoGradGuard guard;
  proj->weight.zero_();
  proj->bias.zero_();
}

torch::Tensor SpatialAttentionImpl::forward(const torch::Tensor& h) {
  const int64_t n = h.size(0), c = h.size(1), hh = h.size(2), ww = h.size(3), d = c / heads_;
  auto qkv_ = qkv(norm(h)).reshape({n, 3, heads_, d, hh * ww});
  auto q = qkv_.select(1, 0).transpose(-1, -2);  // [n, heads, HW, d]
  auto k = qkv_.select(1, 1);                    // [n, heads, d, HW]
  auto v = qkv_.select(1, 2).transpose(-1, -2);  // [n, heads, HW, d]
  auto attn = torch::softmax(torch::matmul(q, k) * (1.0 / std::sqrt(double(d))), -1);
  auto out = torch::matmul(attn, v).transpose(-1, -2).reshape({n, c, hh, ww});
  return h + proj(out);
}

TemporalAttentionImpl::TemporalAttentionImpl(int64_t channels, int64_t heads, TemporalBlockOptions options)
    : channels_(channels), heads_(heads), options_(std::move(options)) {
  // The attention form registers exactly what it always did, in the same order, so that its initial
  // weights (drawn from the seeded generator) and weights files are unchanged.
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
  to_q = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(false)));
  to_k = register_module("to_k", torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(false)));
  to_v = register_module("to_v", torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(false)));
  to_out = register_module("to_out", torch::nn::Linear(channels, channels));
  if (options_.form == "transformer") {
    position = register_parameter(
        "position", timestep_features(torch::arange(options_.max_frames, torch::kFloat32), channels).clone());
    ffn_norm = register_module("ffn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
    ffn_in = register_module("ffn_in", torch::nn::Linear(channels, channels * options_.ffn_mult));
    ffn_out = register_module("ffn_out", torch::nn::Linear(channels * options_.ffn_mult, channels));
  } else if (options_.form != "attention") {
    throw ConfigError("temporal block: unknown form '" + options_.form + "' (attention, transformer)");
  }
  if (options_.adaptive) {
    gate_fc1 = register_module("gate_fc1", torch::nn::Linear(1, options_.gate_hidden));
    gate_fc2 = register_module("gate_fc2", torch::nn::Linear(options_.gate_hidden, 1));
  }
  torch::NoGradGuard guard;
  to_out->weight.zero_();
  to_out->bias.zero_();
  if (ffn_out) {
    ffn_out->weight.zero_();
    ffn_out->bias.zero_();
  }
  if (gate_fc2) {  // g(m) = m at initialisation
    gate_fc2->weight.zero_();
    gate_fc2->bias.zero_();
  }
}

torch::Tensor TemporalAttentionImpl::adaptive_bias(const torch::Tensor& motion, int64_t frames) const {
  const torch::Tensor m = motion.to(torch::kFloat32);
  const torch::Tensor idx = torch::arange(frames, m.options());
  const torch::Tensor distance = (idx.unsqueeze(0) - idx.unsqueeze(1)).abs();                 // [F, F]
  const torch::Tensor beta = options_.beta_min + (options_.beta_max - options_.beta_min) * m;  // [B]
  return -beta.reshape({-1, 1, 1}) * distance.unsqueeze(0);
}

torch::Tensor TemporalAttentionImpl::adaptive_gate(const torch::Tensor& motion) const {
  if (!gate_fc1) throw Error("temporal block: adaptive_gate on a block that does not adapt");
  const torch::Tensor m = motion.to(gate_fc1->weight.dtype()).reshape({-1, 1});  // [B, 1]
  const torch::Tensor hidden = torch::silu(F::linear(m, gate_fc1->weight, gate_fc1->bias));
  const torch::Tensor g = m + F::linear(hidden, gate_fc2->weight, gate_fc2->bias);
  return torch::sigmoid(g).reshape({-1});
}

torch::Tensor TemporalAttentionImpl::forward(const torch::Tensor& h, int64_t batch, int64_t frames,
                                             const TemporalMod& mod, const torch::Tensor& motion) {
  const int64_t c = h.size(1), hh = h.size(2), ww = h.size(3), hw = hh * ww, d = c / heads_, nh = heads_;
  const bool transformer = options_.form == "transformer";
  if (transformer && frames > options_.max_frames)
    throw Error("temporal block: " + std::to_string(frames) + " frames, but its position table has " +
                std::to_string(options_.max_frames) + " rows (backbone.unet.temporal_max_frames)");
  torch::Tensor m;
  if (options_.adaptive) {
    m = motion.defined() ? motion.to(h.device(), torch::kFloat32)
                         : torch::full({batch}, options_.default_motion, torch::TensorOptions().device(h.device()));
    if (m.dim() != 1 || m.size(0) != batch)
      throw Error("temporal block: motion must be [B] with B=" + std::to_string(batch) + ", got " + c10::str(m.sizes()));
  }
  // [B*F, C, H, W] -> tokens [B, HW, F, C], contiguous so that the projections and the batched
  // matmuls below run as dense GEMMs.
  auto tokens = h.reshape({batch, frames, c, hw}).permute({0, 3, 1, 2}).contiguous();
  auto x = norm(tokens);
  torch::Tensor xp;  // frame position for queries and keys (and values in the transformer form)
  if (transformer) {
    x = x + position.slice(0, 0, frames).to(x.dtype());
    xp = x;
  } else {
    auto pos = timestep_features(torch::arange(frames, torch::TensorOptions().device(h.device())), c).to(x.dtype());
    xp = x + pos;
  }
  auto split = [&](const torch::Tensor& y) {  // [B, HW, F, C] -> [B*HW*heads, F, d]
    return y.reshape({batch * hw, frames, nh, d}).transpose(1, 2).reshape({batch * hw * nh, frames, d});
  };
  auto q = split(to_q(xp)), k = split(to_k(xp)), v = split(to_v(x));
  auto logits = torch::bmm(q, k.transpose(1, 2)) * (1.0 / std::sqrt(double(d)));  // [B*HW*heads, F, F]
  torch::Tensor bias;  // [B or 1, 1, heads or 1, F, F]
  if (mod.bias.defined()) {
    torch::Tensor b = mod.bias.to(logits.dtype());
    if (b.dim() == 2 && b.size(0) == frames && b.size(1) == frames) b = b.view({1, 1, 1, frames, frames});
    else if (b.dim() == 3 && b.size(0) == batch && b.size(1) == frames && b.size(2) == frames)
      b = b.view({batch, 1, 1, frames, frames});
    else if (b.dim() == 4 && b.size(0) == batch && b.size(1) == heads_ && b.size(2) == frames && b.size(3) == frames)
      b = b.view({batch, 1, heads_, frames, frames});
    else
      throw Error("temporal attention bias: expected [F, F], [B, F, F] or [B, heads, F, F] with B=" +
                  std::to_string(batch) + " heads=" + std::to_string(heads_) + " F=" + std::to_string(frames) +
                  ", got " + c10::str(b.sizes()));
    bias = b;
  }
  if (options_.adaptive) {
    const torch::Tensor b = adaptive_bias(m, frames).to(logits.dtype()).view({batch, 1, 1, frames, frames});
    bias = bias.defined() ? bias + b : b;
  }
  if (bias.defined())
    logits = (logits.view({batch, hw, nh, frames, frames}) + bias).view({batch * hw * nh, frames, frames});
  auto attn = torch::softmax(logits, -1);
  auto mixed = torch::bmm(attn, v).reshape({batch * hw, nh, frames, d}).transpose(1, 2).reshape({batch, hw, frames, c});
  auto delta = to_out(mixed);  // [B, HW, F, C]
  if (transformer) delta = delta + ffn_out(F::gelu(ffn_in(ffn_norm(tokens + delta))));
  auto out = delta.permute({0, 2, 3, 1});  // [B, F, C, HW]
  if (mod.gate.defined()) {
    torch::Tensor g = mod.gate.to(out.dtype());
    if (g.dim() == 0) {
    } else if (g.dim() == 1 && g.size(0) == batch) g = g.view({batch, 1, 1, 1});
    else if (g.dim() == 2 && g.size(0) == batch && g.size(1) == frames) g = g.view({batch, frames, 1, 1});
    else
      throw Error("temporal attention gate: expected a scalar, [B] or [B, F] with B=" + std::to_string(batch) +
                  " F=" + std::to_string(frames) + ", got " + c10::str(g.sizes()));
    out = out * g;
  }
  if (options_.adaptive) out = out * adaptive_gate(m).to(out.dtype()).view({batch, 1, 1, 1});
  return h + out.reshape({batch * frames, c, hh, ww});
}

// ---- the UNet -----------------------------------------------------------------------------------

namespace {
bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TemporalBlockOptions temporal_options(const UNetConfig& c, bool adaptive) {
  TemporalBlockOptions o;
  o.form = c.temporal_block;
  o.ffn_mult = c.temporal_ffn_mult;
  o.max_frames = c.temporal_max_frames;
  o.adaptive = adaptive;
  o.beta_min = c.adaptive_beta_min;
  o.beta_max = c.adaptive_beta_max;
  o.gate_hidden = c.adaptive_gate_hidden;
  o.default_motion = c.default_motion;
  return o;
}
}  // namespace

VideoUNetImpl::VideoUNetImpl(UNetConfig config) : config_(std::move(config)) {
  const auto& c = config_;
  const int64_t levels = int64_t(c.channel_mult.size());
  auto ch = [&](int64_t l) { return c.base_channels * c.channel_mult[size_t(l)]; };
  const int64_t pp = c.patch * c.patch;

  stem = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels * pp, c.base_channels, 3).padding(1)));
  time_fc1 = register_module("time_fc1", torch::nn::Linear(c.time_features, c.emb_dim));
  time_fc2 = register_module("time_fc2", torch::nn::Linear(c.emb_dim, c.emb_dim));
  if (c.conditioning == "class") {
    if (c.num_classes < 1) throw ConfigError("backbone: class conditioning needs num_classes >= 1");
    class_embedding = register_module("class_embedding", torch::nn::Embedding(c.num_classes + 1, c.emb_dim));
  } else if (c.conditioning == "caption") {
    caption_embedding = register_module(
        "caption_embedding",
        torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(c.caption_vocab + 1, c.emb_dim).mode(torch::kMean)));
  } else if (c.conditioning == "clip-caption") {
    const std::string vocab = find_clip_vocab("");
    if (vocab.empty())
      throw ConfigError("backbone.conditioning clip-caption: CLIP's vocabulary bpe_simple_vocab_16e6.txt.gz was not found "
                        "($VDLAB_CLIP_VOCAB or third_party/clip)");
    tokenizer_ = std::make_shared<const ClipTokenizer>(vocab);
    // BPE ids folded into caption_vocab rows (id mod caption_vocab, as tiny-clip folds them) plus the
    // unconditional row: a table over all 49,408 ids made a tiny network's training step 40 % slower
    // (its dense gradient, AdamW and EMA updates), for ids a caption set never uses.
    caption_embedding = register_module(
        "caption_embedding",
        torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(c.caption_vocab + 1, c.emb_dim).mode(torch::kMean)));
  }

  int64_t in = c.base_channels;
  for (int64_t l = 0; l < levels; ++l) {
    std::vector<ResBlock> blocks;
    for (int64_t r = 0; r < c.res_blocks; ++r) {
      blocks.push_back(register_module("down" + std::to_string(l) + "_block" + std::to_string(r),
                                       ResBlock(r == 0 ? in : ch(l), ch(l), c.emb_dim, c.groups)));
    }
    down_blocks_.push_back(blocks);
    down_spatial_.push_back(contains(c.spatial_attention, l)
                                ? register_module("down" + std::to_string(l) + "_spatial",
                                                  SpatialAttention(ch(l), c.heads, c.groups))
                                : SpatialAttention(nullptr));
    down_temporal_.push_back(contains(c.temporal_attention, l)
                                 ? register_module("temporal_down" + std::to_string(l), TemporalAttention(ch(l), c.heads, temporal_options(c, false)))
                                 : TemporalAttention(nullptr));
    downsamples_.push_back(l + 1 < levels ? register_module("downsample" + std::to_string(l),
                                                            torch::nn::Conv2d(torch::nn::Conv2dOptions(ch(l), ch(l), 3)
                                                                                  .stride(2)
                                                                                  .padding(1)))
                                          : torch::nn::Conv2d(nullptr));
    in = ch(l);
  }
  const int64_t deep = ch(levels - 1);
  mid1 = register_module("mid1", ResBlock(deep, deep, c.emb_dim, c.groups));
  if (!c.spatial_attention.empty()) mid_spatial = register_module("mid_spatial", SpatialAttention(deep, c.heads, c.groups));
  temporal_mid = register_module("temporal_mid", TemporalAttention(deep, c.heads, temporal_options(c, false)));
  mid2 = register_module("mid2", ResBlock(deep, deep, c.emb_dim, c.groups));

  up_blocks_.resize(size_t(levels));
  up_spatial_.resize(size_t(levels), SpatialAttention(nullptr));
  up_temporal_.resize(size_t(levels), TemporalAttention(nullptr));
  upsamples_.resize(size_t(levels), torch::nn::Conv2d(nullptr));
  for (int64_t l = levels - 1; l >= 0; --l) {
    const std::string name = "up" + std::to_string(l);
    std::vector<ResBlock> blocks;
    for (int64_t r = 0; r < c.res_blocks; ++r)
      blocks.push_back(register_module(name + "_block" + std::to_string(r),
                                       ResBlock(r == 0 ? 2 * ch(l) : ch(l), ch(l), c.emb_dim, c.groups)));
    up_blocks_[size_t(l)] = blocks;
    if (contains(c.spatial_attention, l))
      up_spatial_[size_t(l)] = register_module(name + "_spatial", SpatialAttention(ch(l), c.heads, c.groups));
    if (contains(c.temporal_attention, l))
      up_temporal_[size_t(l)] = register_module("temporal_" + name, TemporalAttention(ch(l), c.heads, temporal_options(c, c.adaptive_up())));
    if (l > 0)
      upsamples_[size_t(l)] = register_module(
          "upsample" + std::to_string(l), torch::nn::Conv2d(torch::nn::Conv2dOptions(ch(l), ch(l - 1), 3).padding(1)));
  }
  out_norm = register_module("out_norm", torch::nn::GroupNorm(c.groups, c.base_channels));
  out_conv = register_module("out_conv",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(c.base_channels, c.out_channels * pp, 3).padding(1)));
  torch::NoGradGuard guard;
  out_conv->weight.zero_();
  out_conv->bias.zero_();
}

torch::Tensor VideoUNetImpl::condition_embedding(const torch::Tensor& labels, const std::vector<std::string>& captions,
                                                 int64_t batch, const torch::Device& device) {
  const auto& c = config_;
  if (c.conditioning == "class") {
    torch::Tensor idx;
    if (labels.defined()) {
      if (labels.dim() != 1 || labels.size(0) != batch)
        throw Error("backbone: labels must be [B] with B=" + std::to_string(batch) + ", got " + c10::str(labels.sizes()));
      auto l = labels.to(torch::kCPU, torch::kLong);
      if ((l >= c.num_classes).any().item<bool>() || (l < -1).any().item<bool>())
        throw Error("backbone: a label is outside [-1, " + std::to_string(c.num_classes - 1) + "]");
      idx = torch::where(l < 0, torch::full_like(l, c.num_classes), l);
    } else {
      idx = torch::full({batch}, c.num_classes, torch::kLong);
    }
    return class_embedding(idx.to(device));
  }
  if (c.conditioning == "caption" || c.conditioning == "clip-caption") {
    const int64_t unconditional = caption_embedding->weight.size(0) - 1;  // the last row
    std::vector<int64_t> tokens, offsets;
    for (int64_t b = 0; b < batch; ++b) {
      offsets.push_back(int64_t(tokens.size()));
      std::vector<int64_t> words =
          size_t(b) < captions.size() ? caption_ids(c, tokenizer_.get(), captions[size_t(b)]) : std::vector<int64_t>{};
      if (words.empty()) words.push_back(unconditional);
      tokens.insert(tokens.end(), words.begin(), words.end());
    }
    auto t = torch::tensor(tokens, torch::kLong).to(device);
    auto o = torch::tensor(offsets, torch::kLong).to(device);
    return caption_embedding(t, o);
  }
  return {};
}

std::vector<std::string> VideoUNetImpl::temporal_sites() const {
  std::vector<std::string> out;
  const int64_t levels = int64_t(config_.channel_mult.size());
  for (int64_t l = 0; l < levels; ++l)
    if (down_temporal_[size_t(l)]) out.push_back("down" + std::to_string(l));
  out.push_back("mid");
  for (int64_t l = levels - 1; l >= 0; --l)
    if (up_temporal_[size_t(l)]) out.push_back("up" + std::to_string(l));
  return out;
}

std::vector<std::string> VideoUNetImpl::tap_sites() const {
  std::vector<std::string> out = {"mid"};
  for (int64_t l = int64_t(config_.channel_mult.size()) - 1; l >= 0; --l) {
    const std::string level = "up" + std::to_string(l);
    for (size_t r = 0; r < up_blocks_[size_t(l)].size(); ++r) out.push_back(level + ".block" + std::to_string(r));
    out.push_back(level);
  }
  return out;
}

ForwardOutput VideoUNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                                     const std::vector<std::string>& captions, const ForwardOptions& options) {
  const auto& c = config_;
  if (x.dim() != 5) throw Error("backbone: x must be [B, C, F, H, W], got " + c10::str(x.sizes()));
  const int64_t B = x.size(0), C = x.size(1), Fr = x.size(2), H = x.size(3), W = x.size(4);
  if (C != c.in_channels)
    throw Error("backbone: expected " + std::to_string(c.in_channels) + " channels, got " + std::to_string(C));
  const int64_t levels = int64_t(c.channel_mult.size());
  const int64_t factor = c.patch << (levels - 1);
  if (H % factor != 0 || W % factor != 0)
    throw Error("backbone: height and width must be multiples of " + std::to_string(factor) + ", got " +
                std::to_string(H) + "x" + std::to_string(W));
  if (t.dim() != 2 || t.size(0) != B || t.size(1) != Fr)
    throw Error("backbone: t must be [B, F] = [" + std::to_string(B) + ", " + std::to_string(Fr) + "], got " +
                c10::str(t.sizes()));

  // Per-frame timestep embedding plus the per-video condition.
  auto emb = time_fc2(F::silu(time_fc1(timestep_features(t.reshape({-1}), c.time_features).to(x.dtype()))));  // [B*F, E]
  auto cond = condition_embedding(labels, captions, B, x.device());
  if (cond.defined()) emb = emb + cond.to(emb.dtype()).repeat_interleave(Fr, 0);

  // [B, C, F, H, W] -> [B*F, C, H, W], contiguous: an input in another layout (a permuted view of pixels)
  // would otherwise carry it into every convolution, through slower kernels with other rounding.
  auto h = x.permute({0, 2, 1, 3, 4}).reshape({B * Fr, C, H, W}).contiguous();
  if (c.patch > 1) h = torch::pixel_unshuffle(h, c.patch);
  h = stem(h);
  std::set<std::string> taps;
  if (!options.taps.empty()) {
    const auto known = tap_sites();
    for (const auto& site : options.taps) {
      if (std::find(known.begin(), known.end(), site) == known.end())
        throw ConfigError("backbone: unknown feature tap '" + site + "'" + suggestion_suffix(site, known));
      taps.insert(site);
    }
  }
  ForwardOutput out;
  auto tap = [&](const std::string& site, const torch::Tensor& feature) {  // [B*F, C, H, W] -> [B, C, F, H, W]
    if (taps.count(site))
      out.features[site] =
          feature.reshape({B, Fr, feature.size(1), feature.size(2), feature.size(3)}).permute({0, 2, 1, 3, 4});
  };
  const bool video = Fr > 1;  // temporal layers are skipped for images (F = 1): image pre-training
  auto temporal = [&](TemporalAttention& layer, const std::string& site, const torch::Tensor& in) {
    if (!layer || !video || options.skip_temporal) return in;
    TemporalMod mod = options.temporal ? options.temporal(site) : TemporalMod{};
    return layer(in, B, Fr, mod, options.motion);
  };

  std::vector<torch::Tensor> skips;
  for (int64_t l = 0; l < levels; ++l) {
    for (auto& block : down_blocks_[size_t(l)]) h = block(h, emb);
    if (down_spatial_[size_t(l)]) h = down_spatial_[size_t(l)](h);
    h = temporal(down_temporal_[size_t(l)], "down" + std::to_string(l), h);
    skips.push_back(h);
    if (downsamples_[size_t(l)]) h = downsamples_[size_t(l)](h);
  }
  h = mid1(h, emb);
  if (mid_spatial) h = mid_spatial(h);
  h = temporal(temporal_mid, "mid", h);
  h = mid2(h, emb);
  tap("mid", h);

  for (int64_t l = levels - 1; l >= 0; --l) {
    const std::string level = "up" + std::to_string(l);
    h = torch::cat({h, skips[size_t(l)]}, 1);
    for (size_t r = 0; r < up_blocks_[size_t(l)].size(); ++r) {
      h = up_blocks_[size_t(l)][r](h, emb);
      tap(level + ".block" + std::to_string(r), h);
    }
    if (up_spatial_[size_t(l)]) h = up_spatial_[size_t(l)](h);
    h = temporal(up_temporal_[size_t(l)], level, h);
    tap(level, h);
    if (upsamples_[size_t(l)])
      h = upsamples_[size_t(l)](F::interpolate(
          h, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest)));
  }
  h = out_conv(F::silu(out_norm(h)));
  if (c.patch > 1) h = torch::pixel_shuffle(h, c.patch);
  out.prediction = h.reshape({B, Fr, c.out_channels, H, W}).permute({0, 2, 1, 3, 4});
  return out;
}

bool VideoUNetImpl::in_group(const std::string& name, const std::string& group) {
  const bool temporal = name.rfind("temporal", 0) == 0;
  if (group == "all") return true;
  if (group == "spatial") return !temporal;
  if (group == "temporal") return temporal;
  if (group == "temporal_qkv")
    return temporal && (name.find(".to_q.") != std::string::npos || name.find(".to_k.") != std::string::npos ||
                        name.find(".to_v.") != std::string::npos);
  throw ConfigError("unknown parameter group '" + group + "' (known: all, spatial, temporal, temporal_qkv)");
}

std::vector<std::string> VideoUNetImpl::parameter_names(const std::string& group) const {
  std::vector<std::string> out;
  for (const auto& item : named_parameters())
    if (in_group(item.key(), group)) out.push_back(item.key());
  return out;
}

std::vector<torch::Tensor> VideoUNetImpl::parameter_group(const std::string& group) const {
  std::vector<torch::Tensor> out;
  for (const auto& item : named_parameters())
    if (in_group(item.key(), group)) out.push_back(item.value());
  return out;
}

void VideoUNetImpl::set_trainable(const std::vector<std::string>& groups) {
  for (auto& item : named_parameters()) {
    bool on = false;
    for (const auto& g : groups) on = on || in_group(item.key(), g);
    item.value().set_requires_grad(on);
  }
}

}  // namespace vdlab
