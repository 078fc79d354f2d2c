#pragma once
// The dataset interface: a deterministic, content-hashed, indexable split of clips.
#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "datasets/video.h"

namespace vdlab {

class ClipSource {
 public:
  virtual ~ClipSource() = default;
  virtual std::size_t size() const = 0;
  // Clip i; the same index gives the same clip on every call and every machine.
  virtual Clip get(std::size_t index) const = 0;
  // Class names by label index (empty when the dataset has no classes).
  virtual std::vector<std::string> class_names() const { return {}; }
  // Items of the split left out because they could not be read (on_error: skip): [{id, reason}, ...].
  virtual Json skipped_items() const { return Json::array(); }
  // What the split is, for provenance: the resolved dataset config.
  virtual Json describe() const = 0;
  // SHA-256 of the split's content. The default hashes every clip's pixels, caption and label; a
  // source with a cheaper exact identity (a generator config, a file list with sizes) may override.
  virtual std::string content_hash() const;
};

using ClipSourcePtr = std::shared_ptr<const ClipSource>;
using DatasetRegistry = Registry<ClipSourcePtr>;

DatasetRegistry& dataset_registry();
// Adds moving-shapes, moving-fashion-mnist, video-folder and hdf5. Safe to call more than once.
void register_builtin_datasets();

// The dataset named by `config.name`, with its parameters resolved; `path` names the field in errors.
ClipSourcePtr make_dataset(const Json& config, const std::string& path = "dataset");

// Every clip of a source (for small splits; metrics stream clip by clip instead, metrics/metric.h).
std::vector<Clip> load_all(const ClipSource& source, std::size_t limit = SIZE_MAX);

}  // namespace vdlab
