#include "metrics/stats_cache.h"

#include <H5Cpp.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/atomic_file.h"
#include "core/hdf5_util.h"

namespace vdlab {

Json StatsKey::to_json() const {
  return Json{{"split_hash", split_hash}, {"protocol", protocol}, {"extractor_sha256", extractor_sha256}};
}

std::string StatsKey::id() const { return config_hash(to_json()); }

std::string StatsCache::path(const StatsKey& key) const { return dir_ + "/reference-stats/" + key.id() + ".h5"; }

std::optional<FeatureStats> StatsCache::load(const StatsKey& key) const {
  if (!enabled()) return std::nullopt;
  const std::string p = path(key);
  if (!std::filesystem::exists(p)) return std::nullopt;
  try {
    h5::quiet();
    H5::H5File f(p, H5F_ACC_RDONLY);
    H5::Group root = f.openGroup("/");
    if (h5::read_string_attr(root, "split_hash") != key.split_hash ||
        h5::read_string_attr(root, "extractor_sha256") != key.extractor_sha256 ||
        Json::parse(h5::read_string_attr(root, "protocol")) != key.protocol) {
      log_warn(p + ": cached reference statistics have other keys; recomputing");
      return std::nullopt;
    }
    const std::int64_t count = h5::read_int_attr(root, "count");
    const std::vector<double> mean = h5::read_doubles(root, "mean");
    const Eigen::Index d = Eigen::Index(mean.size());
    Eigen::MatrixXd scatter(d, d);
    H5::DataSet s = f.openDataSet("scatter");
    hsize_t dims[2] = {0, 0};
    if (s.getSpace().getSimpleExtentNdims() != 2) throw IoError(p + ": scatter is not 2-D");
    s.getSpace().getSimpleExtentDims(dims);
    if (dims[0] != hsize_t(d) || dims[1] != hsize_t(d)) throw IoError(p + ": scatter shape does not match mean");
    s.read(scatter.data(), H5::PredType::NATIVE_DOUBLE);  // symmetric: row or column order alike
    return FeatureStats(count, Eigen::Map<const Eigen::VectorXd>(mean.data(), d), std::move(scatter));
  } catch (const H5::Exception& e) {
    log_warn(p + ": unreadable cached reference statistics (" + h5::describe(e) + "); recomputing");
    return std::nullopt;
  }
}

std::string StatsCache::store(const StatsKey& key, const FeatureStats& stats) const {
  if (!enabled()) return "";
  const std::string p = path(key);
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  AtomicFile out(p);
  try {
    h5::quiet();
    H5::H5File f(out.temp_path(), H5F_ACC_TRUNC);
    H5::Group root = f.openGroup("/");
    h5::write_string_attr(root, "split_hash", key.split_hash);
    h5::write_string_attr(root, "protocol", key.protocol.dump());
    h5::write_string_attr(root, "extractor_sha256", key.extractor_sha256);
    h5::write_string_attr(root, "key_id", key.id());
    h5::write_int_attr(root, "count", stats.count());
    const Eigen::VectorXd& m = stats.mean();
    h5::write_doubles(root, "mean", std::vector<double>(m.data(), m.data() + m.size()));
    const hsize_t dims[2] = {hsize_t(stats.dim()), hsize_t(stats.dim())};
    H5::DataSet s = f.createDataSet("scatter", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, dims));
    s.write(stats.scatter().data(), H5::PredType::NATIVE_DOUBLE);
    f.close();
  } catch (const H5::Exception& e) {
    throw IoError(p + ": cannot write reference statistics (" + h5::describe(e) + ")");
  }
  out.commit();
  return p;
}

void write_features(const std::string& path, const std::string& metric_key, const Features& features,
                    const Json& protocol) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  AtomicFile out(path);
  try {
    h5::quiet();
    H5::H5File f(out.temp_path(), H5F_ACC_TRUNC);
    H5::Group root = f.openGroup("/");
    h5::write_string_attr(root, "metric_key", metric_key);
    h5::write_string_attr(root, "protocol", protocol.dump());
    const hsize_t dims[2] = {hsize_t(features.rows), hsize_t(features.cols)};
    H5::DataSet s = f.createDataSet("features", H5::PredType::NATIVE_FLOAT, H5::DataSpace(2, dims));
    if (!features.data.empty()) s.write(features.data.data(), H5::PredType::NATIVE_FLOAT);
    f.close();
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot write features (" + h5::describe(e) + ")");
  }
  out.commit();
}

Features read_features(const std::string& path, Json* protocol) {
  try {
    h5::quiet();
    H5::H5File f(path, H5F_ACC_RDONLY);
    if (protocol) {
      const std::string text = h5::read_string_attr(f.openGroup("/"), "protocol");
      *protocol = Json::parse(text, nullptr, false);
      if (protocol->is_discarded()) throw IoError(path + ": its protocol attribute is not JSON");
    }
    H5::DataSet s = f.openDataSet("features");
    const std::vector<hsize_t> dims = h5::checked_extent(s, 2, sizeof(float));
    if (std::max(dims[0], dims[1]) > hsize_t(std::numeric_limits<int>::max()))
      throw IoError(path + ": features of " + std::to_string(dims[0]) + "x" + std::to_string(dims[1]) + ": corrupt");
    Features out;
    out.rows = int(dims[0]);
    out.cols = int(dims[1]);
    out.data.resize(dims[0] * dims[1]);
    if (!out.data.empty()) s.read(out.data.data(), H5::PredType::NATIVE_FLOAT);
    return out;
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot read features (" + h5::describe(e) + ")");
  }
}

}  // namespace vdlab
