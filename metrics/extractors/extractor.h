#pragma once
// Feature extractors loaded from TorchScript files with the standard interfaces (METRICS.md). Torch stays
// inside extractor.cpp: callers see plain arrays.
//
//   image  forward(img, return_features: bool, ...) -> [N, D]; img NCHW, 3 channels, values in [0, 255]
//          (inception-2015-12-05.pt of StyleGAN2-ADA / StyleGAN3 / clean-fid; tiny-inception)
//   video  forward(x, rescale: bool, resize: bool, return_features: bool) -> [B, D]; x [B, 3, T, H, W]
//          (i3d_torchscript.pt of StyleGAN-V; tiny-i3d)
//   clip   encode_image(Tensor[N, 3, 224, 224] float) -> [N, E], encode_text(Tensor[N, 77] int64) -> [N, E]
//          (a CLIP ViT-B/32 module exported by scripts/export_clip.py, or OpenAI's JIT archive)
//
// Loading checks the interface (method and argument names) and records the file's SHA-256; a file with
// the wrong interface is an ExtractorError that says what was expected and what was found. A metric's
// `sha256` pins the file: another file is refused (one line, both hashes) before any of it is
// deserialised, and the module is loaded from exactly the bytes that were hashed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/params.h"
#include "datasets/video.h"

namespace vdlab {

class ExtractorError : public Error {
 public:
  using Error::Error;
};

enum class ExtractorInterface { image, video, clip };
std::string to_string(ExtractorInterface i);

struct ExtractorInfo {
  std::string name;    // the name metric keys carry: "inception-2015-12-05", "i3d", "clip-vit-b32", "tiny-i3d"
  std::string path;
  std::string sha256;  // of the file
  ExtractorInterface interface = ExtractorInterface::image;
  Json to_json() const;
};

// Row-major [rows, cols] float features.
struct Features {
  int rows = 0, cols = 0;
  std::vector<float> data;
  const float* row(int i) const { return data.data() + std::size_t(i) * std::size_t(cols); }
};

// No statistic is computed from non-finite features: throws NumericError "<stage>: N of M feature
// values are NaN or Inf (<source>)" when any value of `f` is not finite. `stage` names the metric's
// step ("FVD features"), `source` what produced them (the extractor and the set).
void require_finite_features(const Features& f, const std::string& stage, const std::string& source);

// How clips are fed to a video extractor (the FVD protocols).
enum class VideoInput {
  raw_0_255,       // stylegan-v: values in [0, 255], rescale = true, resize = true (the module resizes)
  center_crop_224  // center-crop: shorter side to 224 (bilinear), centre crop 224, [-1, 1], rescale = resize = false
};

class Extractor {
 public:
  // Throws IoError when the file is missing or not TorchScript, ExtractorError on a wrong interface,
  // ConfigError (naming `pin_where`) when `sha256_pin` is given and the file's SHA-256 differs.
  static std::unique_ptr<Extractor> load(const std::string& path, ExtractorInterface interface, std::string name,
                                         const std::string& device = "cpu", const std::string& sha256_pin = "",
                                         const std::string& pin_where = "sha256");
  ~Extractor();
  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;

  const ExtractorInfo& info() const { return info_; }

  // image: features of frames [F, H, W, 3] uint8 (all frames of the video), in batches of `batch`.
  Features frame_features(const Video& video, int batch = 64) const;
  // video: features of clips, all of the same shape; frames [first, first + count) of each video.
  Features clip_features(const std::vector<const Video*>& clips, const std::vector<int>& first, int count,
                         VideoInput input) const;
  // clip: L2-normalised image embeddings of every frame (CLIP preprocessing: bicubic resize of the
  // shorter side to 224, centre crop, [0, 1], CLIP's mean and std).
  Features clip_image_embeddings(const Video& video, int batch = 32) const;
  // clip: L2-normalised text embeddings of token rows [N, 77].
  Features clip_text_embeddings(const std::vector<std::vector<std::int64_t>>& tokens) const;

 private:
  struct Impl;
  Extractor(std::unique_ptr<Impl> impl, ExtractorInfo info);
  std::unique_ptr<Impl> impl_;
  ExtractorInfo info_;
};

}  // namespace vdlab
