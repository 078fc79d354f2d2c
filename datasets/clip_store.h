#pragma once
// HDF5 clip stores: any dataset split exported to one file and read back as dataset "hdf5".
// Layout (h5py-readable): /videos uint8 [N, F, H, W, 3] (chunked per clip, deflated), /labels int32 [N],
// /captions and /ids UTF-8 strings [N]; attrs format "vdlab-clips/1", source (JSON), content_hash.
#include <string>

#include "datasets/clip_source.h"

namespace vdlab {

inline constexpr const char* kClipStoreFormat = "vdlab-clips/1";

// Writes the first `limit` clips of `source` to `path` (atomically). Every clip must have one shape.
void export_clip_store(const ClipSource& source, const std::string& path, std::size_t limit = SIZE_MAX);

}  // namespace vdlab
