// The two ways a VideoSet holds its videos (in memory, or read on demand batch by batch), the shape
// tally protocols record, and where metrics cache under vdlab's cache folder.
#include <algorithm>

#include "metrics/metric.h"

namespace vdlab {

VideoSet VideoSet::streamed(std::size_t count, Reader reader) {
  VideoSet s;
  s.count_ = count;
  s.reader_ = std::move(reader);
  return s;
}

void VideoSet::for_each_batch(std::size_t batch, const BatchFn& fn) const {
  batch = std::max<std::size_t>(1, batch);
  const std::size_t n = size();
  std::vector<const Video*> pointers;
  std::vector<Video> held;  // a streamed set's current batch; freed before the next is read
  for (std::size_t first = 0; first < n; first += batch) {
    const std::size_t end = std::min(n, first + batch);
    pointers.clear();
    if (reader_) {
      held.clear();
      held.shrink_to_fit();
      held.reserve(end - first);
      for (std::size_t i = first; i < end; ++i) held.push_back(reader_(i));
      for (const Video& v : held) pointers.push_back(&v);
    } else {
      for (std::size_t i = first; i < end; ++i) pointers.push_back(&videos[i]);
    }
    for (std::size_t k = 0; k < pointers.size(); ++k)
      (*shapes_)[first + k] = {pointers[k]->frames, pointers[k]->height, pointers[k]->width};
    fn(first, pointers);
  }
}

Json VideoSet::video_shapes() const {
  Json out = Json::array();
  for (std::size_t i = 0; i < size(); ++i) {
    auto it = shapes_->find(i);
    if (it == shapes_->end()) {
      out.push_back(nullptr);
      continue;
    }
    const auto [f, h, w] = it->second;
    out.push_back({{"frames", f}, {"height", h}, {"width", w}});
  }
  return out;
}

void VideoSet::for_each(const std::function<void(std::size_t, const Video&)>& fn) const {
  for_each_batch(1, [&](std::size_t first, const std::vector<const Video*>& batch) { fn(first, *batch[0]); });
}

std::size_t ShapeTally::videos() const {
  std::size_t n = 0;
  for (const auto& kv : counts_) n += kv.second;
  return n;
}

Json ShapeTally::to_json() const {
  Json shapes = Json::array();
  long long frames_total = 0;
  for (const auto& [shape, count] : counts_) {
    const auto [f, h, w] = shape;
    shapes.push_back({{"frames", f}, {"height", h}, {"width", w}, {"count", count}});
    frames_total += (long long)f * (long long)count;
  }
  return {{"videos", videos()}, {"frames_total", frames_total}, {"shapes", shapes}};
}

std::string metric_key(const std::string& name, const std::vector<std::string>& parts) {
  if (parts.empty()) return name;
  std::string key = name + "[";
  for (std::size_t i = 0; i < parts.size(); ++i) key += (i ? std::string(1, kMetricKeySeparator) : "") + parts[i];
  return key + "]";
}

std::string reference_stats_dir(const std::string& cache_dir) { return cache_dir.empty() ? "" : cache_dir + "/stats"; }
std::string tiny_extractor_dir(const std::string& cache_dir) { return cache_dir.empty() ? "" : cache_dir + "/extractors"; }

}  // namespace vdlab
