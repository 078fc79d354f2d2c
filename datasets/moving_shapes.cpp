// moving-shapes: synthetic clips of coloured shapes that move in straight lines and bounce off the
// borders. Everything about a clip is known (class, colour, size, speed, direction), so captions and
// motion labels are exact, and any frame count and size can be drawn.
//
// Captions name colour, shape, direction (8 words) and speed ("quickly" above the middle of the speed
// range, else "slowly"). A held-out combination split measures text alignment rather than memorisation:
// `held_out` lists colour-shape pairs, `combinations: seen` draws no shape of those pairs (train on it),
// `combinations: held_out` draws the captioned shape from those pairs only (evaluate on it). The default
// `combinations: all` draws exactly the clips it drew before these parameters existed.
#include <algorithm>
#include <cmath>

#include "datasets/clip_source.h"
#include "datasets/random.h"
#include "datasets/split.h"

namespace vdlab {
namespace {

const std::vector<std::string> kShapes = {"circle", "square", "triangle"};
struct Colour {
  const char* name;
  std::uint8_t r, g, b;
};
const std::vector<Colour> kColours = {{"red", 230, 40, 40},   {"green", 40, 200, 60}, {"blue", 50, 90, 240},
                                      {"yellow", 235, 215, 40}, {"magenta", 220, 50, 200}, {"cyan", 40, 210, 220}};

struct ShapeMotion {
  int shape = 0, colour = 0;
  double radius = 0, x = 0, y = 0, vx = 0, vy = 0;
};

// Coverage of pixel (px, py) by the shape centred at (cx, cy), antialiased by 4x4 supersampling so
// sub-pixel motion shows in the pixels (a model of moving objects needs that to learn speed).
double coverage(int shape, double r, double cx, double cy, int px, int py) {
  int inside = 0;
  for (int sy = 0; sy < 4; ++sy)
    for (int sx = 0; sx < 4; ++sx) {
      const double dx = px + (sx + 0.5) / 4.0 - cx, dy = py + (sy + 0.5) / 4.0 - cy;
      bool in = false;
      if (shape == 0) in = dx * dx + dy * dy <= r * r;
      else if (shape == 1) in = std::abs(dx) <= r * 0.85 && std::abs(dy) <= r * 0.85;
      else in = dy <= r * 0.7 && dy >= -r && std::abs(dx) <= (dy + r) * 0.6;  // apex up
      inside += in;
    }
  return inside / 16.0;
}

class MovingShapes : public ClipSource {
 public:
  explicit MovingShapes(const Params& p)
      : config_(p.json()),
        split_(p.get<std::string>("split")),
        clips_(p.get<int>("clips")),
        frames_(p.get<int>("frames")),
        size_(p.get<int>("size")),
        seed_(p.get<std::uint64_t>("seed")),
        shapes_per_clip_(p.get<int>("shapes_per_clip")),
        min_speed_(p.get<double>("min_speed")),
        max_speed_(p.get<double>("max_speed")),
        min_radius_(p.get<double>("min_radius")),
        max_radius_(p.get<double>("max_radius")),
        combinations_(p.get<std::string>("combinations")) {
    if (clips_ < 1) p.fail("clips", "must be at least 1");
    if (frames_ < 1) p.fail("frames", "must be at least 1");
    if (size_ < 8) p.fail("size", "must be at least 8 pixels");
    if (shapes_per_clip_ < 1 || shapes_per_clip_ > 4) p.fail("shapes_per_clip", "must be 1 to 4");
    if (!(min_speed_ >= 0 && max_speed_ >= min_speed_)) p.fail("max_speed", "needs 0 <= min_speed <= max_speed");
    if (!(min_radius_ > 0 && max_radius_ >= min_radius_ && max_radius_ < size_ / 2.0))
      p.fail("max_radius", "needs 0 < min_radius <= max_radius < size/2");
    for (const auto& pair : p.at("held_out")) {
      if (!pair.is_string()) p.fail("held_out", "expects strings like \"red circle\"");
      const std::string text = pair.get<std::string>();
      const auto space = text.find(' ');
      const auto colour = std::find_if(kColours.begin(), kColours.end(),
                                       [&](const Colour& c) { return text.substr(0, space) == c.name; });
      const auto shape = space == std::string::npos
                             ? kShapes.end()
                             : std::find(kShapes.begin(), kShapes.end(), text.substr(space + 1));
      if (colour == kColours.end() || shape == kShapes.end())
        p.fail("held_out", "'" + text + "' is not '<colour> <shape>' (colours red, green, blue, yellow, magenta, "
                               "cyan; shapes circle, square, triangle)");
      held_out_.push_back({int(shape - kShapes.begin()), int(colour - kColours.begin())});
    }
    if (combinations_ != "all" && held_out_.empty()) p.fail("held_out", "is empty, so combinations: " + combinations_ + " has nothing to hold out");
    if (combinations_ != "all" && held_out_.size() == kShapes.size() * kColours.size())
      p.fail("held_out", "holds out every colour-shape pair, so combinations: seen has nothing to draw");
  }

  std::size_t size() const override { return std::size_t(clips_); }
  std::vector<std::string> class_names() const override { return kShapes; }
  Json describe() const override { return config_; }

  Clip get(std::size_t index) const override {
    Rng rng(mix_seed({seed_, split_seed(split_), index, 0x5a4e}));
    std::vector<ShapeMotion> shapes(shapes_per_clip_);
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      ShapeMotion& s = shapes[k];
      // Redrawn until the pair is allowed; with combinations: all the first draw always is, so the
      // random stream (and every clip) is the same as without a held-out split.
      do {
        s.shape = rng.below(int(kShapes.size()));
        s.colour = rng.below(int(kColours.size()));
      } while (!allowed(s, k == 0));
      s.radius = rng.uniform(min_radius_, max_radius_);
      s.x = rng.uniform(s.radius, size_ - s.radius);
      s.y = rng.uniform(s.radius, size_ - s.radius);
      const double speed = rng.uniform(min_speed_, max_speed_);
      const double angle = rng.uniform(0.0, 2.0 * M_PI);
      s.vx = speed * std::cos(angle);
      s.vy = speed * std::sin(angle);
    }
    const ShapeMotion first = shapes[0];

    Clip clip;
    clip.id = "moving-shapes/" + split_ + "/" + std::to_string(index);
    clip.video = Video(frames_, size_, size_);
    for (int f = 0; f < frames_; ++f) {
      std::uint8_t* frame = clip.video.frame(f);
      for (int y = 0; y < size_; ++y)
        for (int x = 0; x < size_; ++x) {
          // A dim vertical gradient, so the background is not a constant a model can memorise trivially.
          double rgb[3] = {18.0 + 20.0 * y / size_, 18.0 + 20.0 * y / size_, 30.0 + 25.0 * y / size_};
          for (const auto& s : shapes) {
            const double a = coverage(s.shape, s.radius, s.x, s.y, x, y);
            if (a == 0) continue;
            const Colour& c = kColours[s.colour];
            rgb[0] = rgb[0] * (1 - a) + c.r * a;
            rgb[1] = rgb[1] * (1 - a) + c.g * a;
            rgb[2] = rgb[2] * (1 - a) + c.b * a;
          }
          for (int ch = 0; ch < 3; ++ch) frame[(y * size_ + x) * 3 + ch] = std::uint8_t(std::lround(rgb[ch]));
        }
      for (auto& s : shapes) advance(s);
    }

    const double speed = std::hypot(first.vx, first.vy);
    double direction = std::atan2(-first.vy, first.vx) * 180.0 / M_PI;  // image y points down
    if (direction < 0) direction += 360.0;
    clip.label = first.shape;
    clip.caption = std::string("a ") + kColours[first.colour].name + " " + kShapes[first.shape] + " moving " +
                   direction_word(direction) + (speed > (min_speed_ + max_speed_) / 2 ? " quickly" : " slowly");
    clip.motion = {{"speed", speed}, {"direction", direction}, {"radius", first.radius}};
    return clip;
  }

 private:
  void advance(ShapeMotion& s) const {
    s.x += s.vx;
    s.y += s.vy;
    // Bounce: reflect the position and the velocity at each border.
    if (s.x < s.radius) s.x = 2 * s.radius - s.x, s.vx = -s.vx;
    if (s.x > size_ - s.radius) s.x = 2 * (size_ - s.radius) - s.x, s.vx = -s.vx;
    if (s.y < s.radius) s.y = 2 * s.radius - s.y, s.vy = -s.vy;
    if (s.y > size_ - s.radius) s.y = 2 * (size_ - s.radius) - s.y, s.vy = -s.vy;
  }

  bool held_out(const ShapeMotion& s) const {
    return std::any_of(held_out_.begin(), held_out_.end(),
                       [&](const std::pair<int, int>& p) { return p.first == s.shape && p.second == s.colour; });
  }

  // combinations: seen keeps every shape off the held-out pairs (not even a distractor shows one);
  // held_out makes the captioned shape one of them and leaves the others unconstrained.
  bool allowed(const ShapeMotion& s, bool captioned) const {
    if (combinations_ == "seen") return !held_out(s);
    if (combinations_ == "held_out") return !captioned || held_out(s);
    return true;
  }

  static std::string direction_word(double degrees) {
    static const char* words[] = {"right", "up and right", "up", "up and left", "left", "down and left", "down",
                                  "down and right"};
    return words[int(std::lround(degrees / 45.0)) % 8];
  }

  Json config_;
  std::string split_;
  int clips_, frames_, size_;
  std::uint64_t seed_;
  int shapes_per_clip_;
  double min_speed_, max_speed_, min_radius_, max_radius_;
  std::string combinations_;
  std::vector<std::pair<int, int>> held_out_;  // (shape, colour)
};

}  // namespace

void register_moving_shapes(DatasetRegistry& registry) {
  registry.add({"moving-shapes",
                "synthetic coloured circles, squares and triangles moving and bouncing; label = shape, exact captions",
                {{"split", "train", "which split; each split draws from its own seed stream", {"train", "val", "test"}},
                 {"clips", 256, "number of clips in the split"},
                 {"frames", 16, "frames per clip"},
                 {"size", 32, "frame height and width in pixels"},
                 {"seed", 0, "generator seed (splits stay disjoint for any seed)"},
                 {"shapes_per_clip", 1, "shapes in each clip (the first one gives the label and caption)"},
                 {"min_speed", 0.5, "slowest speed, pixels per frame"},
                 {"max_speed", 2.0, "fastest speed, pixels per frame"},
                 {"min_radius", 4.0, "smallest shape radius, pixels"},
                 {"max_radius", 7.0, "largest shape radius, pixels"},
                 {"held_out", Json::array({"red circle", "green square", "blue triangle"}),
                  "colour-shape pairs of the held-out combination split"},
                 {"combinations", "all",
                  "all pairs, only pairs never in held_out (seen; train on it), or only held_out pairs for the "
                  "captioned shape (evaluate text alignment on combinations never trained on)",
                  {"all", "seen", "held_out"}}},
                [](const Params& p) -> ClipSourcePtr { return std::make_shared<MovingShapes>(p); }});
}

}  // namespace vdlab
