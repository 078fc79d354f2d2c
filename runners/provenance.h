#pragma once
// What every result records about how it was produced: code version, library versions, machine.
#include "core/params.h"

namespace vdlab {

// {vdlab_version, git_commit, libtorch, opencv, hdf5, eigen, boost, yaml_cpp?, compiler, host, device,
//  threads, cuda}
Json provenance(const std::string& device);
std::string vdlab_version();
std::string git_commit();

}  // namespace vdlab
