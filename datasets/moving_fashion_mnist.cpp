// moving-fashion-mnist: Fashion-MNIST items (Debian's dataset-fashion-mnist, gzipped IDX files) moving
// and bouncing on a dark canvas, as Moving MNIST does with digits. Label = the first item's class.
#include <zlib.h>

#include <cmath>
#include <mutex>

#include "core/error.h"
#include "datasets/clip_source.h"
#include "datasets/random.h"
#include "datasets/split.h"

namespace vdlab {
namespace {

const std::vector<std::string> kClasses = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                           "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};

struct Idx {
  std::vector<std::uint8_t> images;  // n x 28 x 28
  std::vector<std::uint8_t> labels;
  std::size_t count = 0;
};

std::vector<std::uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw IoError(path + ": cannot open (install Debian's dataset-fashion-mnist)");
  std::vector<std::uint8_t> out;
  std::uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  const bool failed = n < 0;
  gzclose(f);
  if (failed) throw IoError(path + ": corrupt gzip data");
  return out;
}

std::uint32_t be32(const std::uint8_t* p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// Loaded once per process and kept: 47 MB for the training set.
const Idx& load_idx(const std::string& dir, bool train) {
  static std::mutex mutex;
  static Idx cache[2];
  std::lock_guard<std::mutex> lock(mutex);
  Idx& idx = cache[train ? 0 : 1];
  if (idx.count) return idx;
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  auto images = read_gz(prefix + "-images-idx3-ubyte.gz");
  auto labels = read_gz(prefix + "-labels-idx1-ubyte.gz");
  if (images.size() < 16 || be32(images.data()) != 0x803 || be32(images.data() + 8) != 28 || be32(images.data() + 12) != 28)
    throw IoError(prefix + "-images-idx3-ubyte.gz: not an IDX file of 28x28 images");
  if (labels.size() < 8 || be32(labels.data()) != 0x801) throw IoError(prefix + "-labels-idx1-ubyte.gz: not an IDX label file");
  idx.count = be32(images.data() + 4);
  if (images.size() != 16 + idx.count * 784 || labels.size() != 8 + idx.count)
    throw IoError(prefix + ": truncated IDX files");
  idx.images.assign(images.begin() + 16, images.end());
  idx.labels.assign(labels.begin() + 8, labels.end());
  return idx;
}

class MovingFashionMnist : public ClipSource {
 public:
  explicit MovingFashionMnist(const Params& p)
      : config_(p.json()), split_(p.get<std::string>("split")), clips_(p.get<int>("clips")),
        frames_(p.get<int>("frames")), size_(p.get<int>("size")), seed_(p.get<std::uint64_t>("seed")),
        items_(p.get<int>("items_per_clip")), min_speed_(p.get<double>("min_speed")),
        max_speed_(p.get<double>("max_speed")) {
    if (clips_ < 1) p.fail("clips", "must be at least 1");
    if (frames_ < 1) p.fail("frames", "must be at least 1");
    if (size_ < 28) p.fail("size", "must be at least 28 (the item size)");
    if (items_ < 1 || items_ > 3) p.fail("items_per_clip", "must be 1 to 3");
    // train and val draw from the 60k training images, test from the 10k test images.
    idx_ = &load_idx(p.get<std::string>("path"), split_ != "test");
  }

  std::size_t size() const override { return std::size_t(clips_); }
  std::vector<std::string> class_names() const override { return kClasses; }
  Json describe() const override { return config_; }

  Clip get(std::size_t index) const override {
    Rng rng(mix_seed({seed_, split_seed(split_), index, 0xfa5}));
    struct Item {
      std::size_t image;
      double x, y, vx, vy;
    };
    std::vector<Item> items(items_);
    const double room = size_ - 28;
    for (auto& it : items) {
      // val uses the last 10k training images, train the first 50k, so the two never share an item.
      const std::size_t lo = split_ == "val" ? 50000 : 0, n = split_ == "train" ? 50000 : (split_ == "val" ? 10000 : idx_->count);
      it.image = lo + std::size_t(rng.below(int(n)));
      it.x = rng.uniform(0, room);
      it.y = rng.uniform(0, room);
      const double speed = rng.uniform(min_speed_, max_speed_), angle = rng.uniform(0, 2 * M_PI);
      it.vx = speed * std::cos(angle);
      it.vy = speed * std::sin(angle);
    }
    Clip c;
    c.id = "moving-fashion-mnist/" + split_ + "/" + std::to_string(index);
    c.video = Video(frames_, size_, size_);
    const double first_speed = std::hypot(items[0].vx, items[0].vy);
    for (int f = 0; f < frames_; ++f) {
      std::vector<float> canvas(std::size_t(size_) * size_, 0.f);
      for (const auto& it : items) {
        // Bilinear placement at sub-pixel positions: motion shows smoothly.
        const int x0 = int(std::floor(it.x)), y0 = int(std::floor(it.y));
        const double fx = it.x - x0, fy = it.y - y0;
        const std::uint8_t* img = idx_->images.data() + it.image * 784;
        for (int y = 0; y < 29; ++y)
          for (int x = 0; x < 29; ++x) {
            auto px = [&](int yy, int xx) { return (yy < 0 || yy >= 28 || xx < 0 || xx >= 28) ? 0.0 : double(img[yy * 28 + xx]); };
            const double v = (1 - fx) * (1 - fy) * px(y, x) + fx * (1 - fy) * px(y, x - 1) + (1 - fx) * fy * px(y - 1, x) +
                             fx * fy * px(y - 1, x - 1);
            const int cx = x0 + x, cy = y0 + y;
            if (cx < size_ && cy < size_) canvas[std::size_t(cy) * size_ + cx] = std::max(canvas[std::size_t(cy) * size_ + cx], float(v));
          }
      }
      std::uint8_t* out = c.video.frame(f);
      for (std::size_t k = 0; k < canvas.size(); ++k) out[3 * k] = out[3 * k + 1] = out[3 * k + 2] = std::uint8_t(std::lround(canvas[k]));
      for (auto& it : items) {
        it.x += it.vx, it.y += it.vy;
        if (it.x < 0) it.x = -it.x, it.vx = -it.vx;
        if (it.x > room) it.x = 2 * room - it.x, it.vx = -it.vx;
        if (it.y < 0) it.y = -it.y, it.vy = -it.vy;
        if (it.y > room) it.y = 2 * room - it.y, it.vy = -it.vy;
      }
    }
    c.label = idx_->labels[items[0].image];
    c.caption = "a " + kClasses[std::size_t(c.label)] + " moving" + (first_speed > (min_speed_ + max_speed_) / 2 ? " quickly" : " slowly");
    c.motion = {{"speed", first_speed}};
    return c;
  }

 private:
  Json config_;
  std::string split_;
  int clips_, frames_, size_;
  std::uint64_t seed_;
  int items_;
  double min_speed_, max_speed_;
  const Idx* idx_ = nullptr;
};

}  // namespace

void register_moving_fashion_mnist(DatasetRegistry& registry) {
  registry.add({"moving-fashion-mnist",
                "Fashion-MNIST items moving and bouncing on a canvas (Debian's dataset-fashion-mnist); label = class",
                {{"split", "train", "train (first 50k training images), val (last 10k), test (10k test images)",
                  {"train", "val", "test"}},
                 {"clips", 256, "number of clips"},
                 {"frames", 16, "frames per clip"},
                 {"size", 64, "canvas height and width"},
                 {"seed", 0, "generator seed"},
                 {"items_per_clip", 1, "items moving in each clip"},
                 {"min_speed", 1.0, "slowest speed, pixels per frame"},
                 {"max_speed", 3.0, "fastest speed, pixels per frame"},
                 {"path", VDLAB_FASHION_MNIST_DIR, "folder of the gzipped IDX files"}},
                [](const Params& p) -> ClipSourcePtr { return std::make_shared<MovingFashionMnist>(p); }});
}

}  // namespace vdlab
