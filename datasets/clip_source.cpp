#include "datasets/clip_source.h"

#include "core/hash.h"

namespace vdlab {

std::string ClipSource::content_hash() const {
  Sha256 h;
  const std::size_t n = size();
  h.update(&n, sizeof n);
  for (std::size_t i = 0; i < n; ++i) {
    const Clip c = get(i);
    const int shape[3] = {c.video.frames, c.video.height, c.video.width};
    h.update(shape, sizeof shape);
    h.update(c.video.data.data(), c.video.data.size());
    h.update(c.caption);
    h.update(&c.label, sizeof c.label);
  }
  return h.hex();
}

DatasetRegistry& dataset_registry() {
  static DatasetRegistry registry("dataset");
  return registry;
}

ClipSourcePtr make_dataset(const Json& config, const std::string& path) {
  register_builtin_datasets();
  return dataset_registry().make_resolved(dataset_registry().resolve(config, path), path);
}

std::vector<Clip> load_all(const ClipSource& source, std::size_t limit) {
  std::vector<Clip> out;
  const std::size_t n = std::min(limit, source.size());
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(source.get(i));
  return out;
}

}  // namespace vdlab
