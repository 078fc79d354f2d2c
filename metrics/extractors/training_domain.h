#pragma once
// The domain a tiny extractor was trained on against the domain of the clips a metric scores. A tiny
// extractor reads what its training data taught it: tiny-i3d trained on moving-shapes barely noticed
// frame shuffling on real sign-language clips. Values stay computed, but the log says when the domains
// differ and the protocol records what the extractor was trained on.
#include <string>

#include "core/params.h"

namespace vdlab {

// "moving-shapes", "video-folder:<canonical root>", or "" when unknown. Takes a dataset config
// ({name: ..., root: ...}) or a VideoSet source ({kind: video-folder, path: ...}, {kind: hdf5, dataset: ...}).
std::string domain_of(const Json& source);

// A warning line when both domains are known and differ (a folder inside the training root counts as
// the same domain), else "".
std::string domain_warning(const std::string& extractor, const Json& trained_on, const Json& scored);

}  // namespace vdlab
