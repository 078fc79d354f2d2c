#include "runners/provenance.h"

#include "git_version.h"

#include <ATen/Parallel.h>
#include <H5public.h>
#include <torch/version.h>
#include <unistd.h>

#include <Eigen/Core>
#include <boost/version.hpp>
#include <opencv2/core/version.hpp>

namespace vdlab {

std::string vdlab_version() { return VDLAB_VERSION; }
std::string git_commit() { return VDLAB_GIT_COMMIT; }

Json provenance(const std::string& device) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return {
      {"vdlab_version", vdlab_version()},
      {"git_commit", git_commit()},
      {"libtorch", TORCH_VERSION},
      {"opencv", CV_VERSION},
      {"hdf5", std::to_string(H5_VERS_MAJOR) + "." + std::to_string(H5_VERS_MINOR) + "." + std::to_string(H5_VERS_RELEASE)},
      {"eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                    std::to_string(EIGEN_MINOR_VERSION)},
      {"boost", std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                    std::to_string(BOOST_VERSION % 100)},
      {"compiler", std::string("gcc ") + __VERSION__},
      {"allocator", VDLAB_ALLOCATOR},  // tcmalloc or system (CMake's VDLAB_ALLOCATOR)
      {"host", host},
      {"device", device},
      {"threads", at::get_num_threads()},
  };
}

}  // namespace vdlab
