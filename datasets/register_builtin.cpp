// The one place built-in datasets are registered. Adding a dataset: a new file here and a line below.
#include "datasets/clip_source.h"

namespace vdlab {

void register_moving_shapes(DatasetRegistry& registry);
void register_video_folder(DatasetRegistry& registry);
void register_clip_store(DatasetRegistry& registry);
void register_moving_fashion_mnist(DatasetRegistry& registry);

void register_builtin_datasets() {
  static bool done = false;
  if (done) return;
  done = true;
  DatasetRegistry& r = dataset_registry();
  register_moving_shapes(r);
  register_video_folder(r);
  register_clip_store(r);
  register_moving_fashion_mnist(r);
}

}  // namespace vdlab
