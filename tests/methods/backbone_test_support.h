#pragma once
// A tiny deterministic clip source for backbone tests: one square per clip moving one pixel per frame.
#include <string>
#include <vector>

#include "datasets/clip_source.h"
#include "methods/backbone/unet_config.h"

namespace vdlab::testing {

class MovingSquares : public ClipSource {
 public:
  MovingSquares(int clips, int frames, int size) : clips_(clips), frames_(frames), size_(size) {}
  std::size_t size() const override { return std::size_t(clips_); }
  Clip get(std::size_t i) const override {
    Clip c;
    c.id = "squares/" + std::to_string(i);
    c.video = Video(frames_, size_, size_);
    const int label = int(i % 2);
    const int side = 2 + label;
    const int dx = (i % 4) < 2 ? 1 : -1;
    for (int f = 0; f < frames_; ++f) {
      const int x0 = ((int(i) * 3 + dx * f) % size_ + size_) % size_;
      const int y0 = (int(i) * 5) % (size_ - side);
      for (int y = y0; y < y0 + side; ++y)
        for (int x = x0; x < x0 + side; ++x) {
          const int xx = x % size_;
          c.video.at(f, y, xx, 0) = 230;
          c.video.at(f, y, xx, 1) = uint8_t(40 + 150 * label);
          c.video.at(f, y, xx, 2) = 60;
        }
    }
    c.label = label;
    c.caption = label == 0 ? "a small red square" : "a big orange square";
    return c;
  }
  std::vector<std::string> class_names() const override { return {"small", "big"}; }
  Json describe() const override { return Json{{"name", "test-squares"}, {"clips", clips_}, {"frames", frames_}, {"size", size_}}; }

 private:
  int clips_, frames_, size_;
};

// A network small enough for unit tests (milliseconds per step).
inline UNetConfig micro_unet() {
  UNetConfig c;
  c.patch = 1;
  c.base_channels = 8;
  c.channel_mult = {1, 2};
  c.res_blocks = 1;
  c.spatial_attention = {1};
  c.temporal_attention = {0, 1};
  c.heads = 2;
  c.groups = 4;
  c.emb_dim = 32;
  return c;
}

// The "unet" backbone config of micro_unet(), class-conditioned, for builder and cache tests.
inline Json micro_backbone_config(int64_t steps) {
  return Json{{"preset", "tiny"},
              {"conditioning", "class"},
              {"unet", {{"patch", 1}, {"base_channels", 8}, {"channel_mult", {1, 2}}, {"groups", 4}, {"heads", 2},
                        {"emb_dim", 32}, {"temporal_attention", {0, 1}}}},
              {"train", {{"steps", steps}, {"batch_size", 2}, {"checkpoint_every", 0}}}};
}

}  // namespace vdlab::testing
