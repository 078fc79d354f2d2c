// The one translation unit of the metrics that runs TorchScript feature networks.
#include "metrics/extractors/extractor.h"
#include "metrics/extractors/resize_geometry.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file_pin.h"
#include "core/hash.h"
#include "core/log.h"

namespace vdlab {

std::string to_string(ExtractorInterface i) {
  switch (i) {
    case ExtractorInterface::image: return "image (forward(img, return_features) -> [N, D])";
    case ExtractorInterface::video: return "video (forward(x, rescale, resize, return_features) -> [B, D])";
    case ExtractorInterface::clip: return "clip (encode_image, encode_text)";
  }
  return "?";
}

Json ExtractorInfo::to_json() const {
  const char* kinds[] = {"image", "video", "clip"};
  return Json{{"name", name}, {"path", path}, {"sha256", sha256}, {"interface", kinds[int(interface)]}};
}

struct Extractor::Impl {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
};

namespace {

std::vector<std::string> argument_names(const torch::jit::Method& m) {
  std::vector<std::string> names;
  for (const auto& a : m.function().getSchema().arguments()) names.push_back(a.name());
  return names;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void require_method(const torch::jit::Module& m, const std::string& path, const std::string& method,
                    const std::vector<std::string>& args, ExtractorInterface interface) {
  auto found = m.find_method(method);
  if (!found)
    throw ExtractorError(path + ": not a " + to_string(interface) + " extractor: it has no method '" + method + "'");
  const auto names = argument_names(*found);
  for (const auto& a : args)
    if (std::find(names.begin(), names.end(), a) == names.end())
      throw ExtractorError(path + ": not a " + to_string(interface) + " extractor: " + method + "(" + join(names) +
                           ") has no argument '" + a + "'");
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

Features to_features(const torch::Tensor& out, std::int64_t rows, const ExtractorInfo& info, const char* what) {
  if (out.dim() != 2 || out.size(0) != rows)
    throw ExtractorError(info.path + ": " + what + " returned a tensor of shape " + c10::str(out.sizes()) +
                         ", expected [" + std::to_string(rows) + ", D]");
  torch::Tensor t = out.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Features f;
  f.rows = int(t.size(0));
  f.cols = int(t.size(1));
  f.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  return f;
}

void append(Features& all, const Features& part) {
  if (all.rows == 0) {
    all = part;
    return;
  }
  all.data.insert(all.data.end(), part.data.begin(), part.data.end());
  all.rows += part.rows;
}

// Frames [first, first + count) of a video as uint8 [count, 3, H, W].
torch::Tensor frames_nchw(const Video& v, int first, int count) {
  auto t = torch::from_blob(const_cast<std::uint8_t*>(v.frame(first)), {count, v.height, v.width, 3}, torch::kUInt8);
  return t.permute({0, 3, 1, 2}).contiguous();
}

// Resize the shorter side to `size` and crop the centre square, on float NCHW, with torchvision's size
// and crop rule (resize_geometry.h).
torch::Tensor resize_center_crop(const torch::Tensor& x, int size, bool bicubic) {
  const ResizeCrop g = shorter_side_resize_crop(x.size(2), x.size(3), size);
  const std::int64_t nh = g.resized_height, nw = g.resized_width;
  torch::Tensor r = bicubic ? at::_upsample_bicubic2d_aa(x, {nh, nw}, false, c10::nullopt, c10::nullopt)
                            : at::upsample_bilinear2d(x, {nh, nw}, false, c10::nullopt, c10::nullopt);
  return r.slice(2, g.top, g.top + size).slice(3, g.left, g.left + size);
}

torch::Tensor l2_normalise(const torch::Tensor& x) { return x / x.norm(2, {1}, true).clamp_min(1e-12); }

}  // namespace

Extractor::Extractor(std::unique_ptr<Impl> impl, ExtractorInfo info) : impl_(std::move(impl)), info_(std::move(info)) {}
Extractor::~Extractor() = default;

void require_finite_features(const Features& f, const std::string& stage, const std::string& source) {
  std::size_t bad = 0;
  for (float x : f.data) bad += !std::isfinite(x);
  if (bad > 0)
    throw NumericError(stage + ": " + std::to_string(bad) + " of " + std::to_string(f.data.size()) +
                       " feature values are NaN or Inf (" + source + "); no metric is computed from them");
}

std::unique_ptr<Extractor> Extractor::load(const std::string& path, ExtractorInterface interface, std::string name,
                                           const std::string& device, const std::string& sha256_pin,
                                           const std::string& pin_where) {
  if (!std::ifstream(path).good()) throw IoError(path + ": extractor file not found");
  // A TorchScript file is code: the pin is checked before anything is deserialised, and the module is
  // loaded from the very bytes that were hashed.
  const VerifiedFile file = read_verified_file(path, parse_sha256_pin(sha256_pin, pin_where), pin_where);
  ExtractorInfo info{std::move(name), path, file.sha256, interface};
  auto impl = std::make_unique<Impl>();
  try {
    impl->device = torch::Device(device);
    std::istringstream bytes(file.bytes);
    impl->module = torch::jit::load(bytes, impl->device);
  } catch (const c10::Error& e) {
    throw IoError(path + ": cannot be loaded as a TorchScript module on " + device + " (" +
                  first_line(e.what_without_backtrace()) + ")");
  }
  impl->module.eval();
  switch (interface) {
    case ExtractorInterface::image:
      require_method(impl->module, path, "forward", {"return_features"}, interface);
      break;
    case ExtractorInterface::video:
      require_method(impl->module, path, "forward", {"rescale", "resize", "return_features"}, interface);
      break;
    case ExtractorInterface::clip:
      require_method(impl->module, path, "encode_image", {}, interface);
      require_method(impl->module, path, "encode_text", {}, interface);
      break;
  }
  return std::unique_ptr<Extractor>(new Extractor(std::move(impl), std::move(info)));
}

Features Extractor::frame_features(const Video& video, int batch) const {
  torch::NoGradGuard no_grad;
  Features all;
  auto forward = impl_->module.get_method("forward");
  for (int f = 0; f < video.frames; f += batch) {
    const int n = std::min(batch, video.frames - f);
    torch::Tensor x = frames_nchw(video, f, n).to(impl_->device);
    torch::Tensor out = forward({x}, {{"return_features", true}}).toTensor();
    append(all, to_features(out, n, info_, "forward"));
  }
  return all;
}

Features Extractor::clip_features(const std::vector<const Video*>& clips, const std::vector<int>& first, int count,
                                  VideoInput input) const {
  torch::NoGradGuard no_grad;
  if (clips.empty()) return {};
  std::vector<torch::Tensor> items;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const Video& v = *clips[i];
    if (first[i] < 0 || first[i] + count > v.frames)
      throw ConfigError("clip " + std::to_string(i) + " has " + std::to_string(v.frames) + " frames; frames [" +
                        std::to_string(first[i]) + ", " + std::to_string(first[i] + count) + ") were asked for");
    torch::Tensor x = frames_nchw(v, first[i], count);  // [T, 3, H, W] uint8
    if (input == VideoInput::center_crop_224)
      x = resize_center_crop(x.to(torch::kFloat), 224, false) / 127.5 - 1.0;
    items.push_back(x.permute({1, 0, 2, 3}));  // [3, T, H, W]
  }
  torch::Tensor x = torch::stack(items).contiguous().to(impl_->device);
  const bool raw = input == VideoInput::raw_0_255;
  auto forward = impl_->module.get_method("forward");
  torch::Tensor out = forward({x}, {{"rescale", raw}, {"resize", raw}, {"return_features", true}}).toTensor();
  return to_features(out, std::int64_t(clips.size()), info_, "forward");
}

Features Extractor::clip_image_embeddings(const Video& video, int batch) const {
  torch::NoGradGuard no_grad;
  static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  static const float stdev[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  const torch::Tensor m = torch::from_blob(const_cast<float*>(mean), {1, 3, 1, 1}).clone();
  const torch::Tensor s = torch::from_blob(const_cast<float*>(stdev), {1, 3, 1, 1}).clone();
  auto encode = impl_->module.get_method("encode_image");
  Features all;
  for (int f = 0; f < video.frames; f += batch) {
    const int n = std::min(batch, video.frames - f);
    // Bicubic with antialiasing on the uint8 grid, rounded and clamped as an image library would.
    torch::Tensor x = resize_center_crop(frames_nchw(video, f, n).to(torch::kFloat), 224, true).round().clamp(0, 255);
    x = ((x / 255.0 - m) / s).contiguous().to(impl_->device);
    torch::Tensor out;
    try {
      out = encode({x}).toTensor().to(torch::kFloat);
    } catch (const c10::Error& e) {
      throw ExtractorError(info_.path + ": encode_image failed (" + first_line(e.what_without_backtrace()) +
                           "); OpenAI's JIT archive needs CUDA and fp16, export a device-free fp32 module with "
                           "scripts/export_clip.py");
    }
    append(all, to_features(l2_normalise(out), n, info_, "encode_image"));
  }
  return all;
}

Features Extractor::clip_text_embeddings(const std::vector<std::vector<std::int64_t>>& tokens) const {
  torch::NoGradGuard no_grad;
  if (tokens.empty()) return {};
  const std::int64_t n = std::int64_t(tokens.size()), len = std::int64_t(tokens[0].size());
  torch::Tensor t = torch::empty({n, len}, torch::kLong);
  for (std::int64_t i = 0; i < n; ++i)
    std::copy(tokens[i].begin(), tokens[i].end(), t.data_ptr<std::int64_t>() + i * len);
  auto encode = impl_->module.get_method("encode_text");
  torch::Tensor out;
  try {
    out = encode({t.to(impl_->device)}).toTensor().to(torch::kFloat);
  } catch (const c10::Error& e) {
    throw ExtractorError(info_.path + ": encode_text failed (" + first_line(e.what_without_backtrace()) + ")");
  }
  return to_features(l2_normalise(out), n, info_, "encode_text");
}

}  // namespace vdlab
