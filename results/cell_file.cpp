#include "results/cell_file.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/atomic_file.h"
#include "core/hdf5_util.h"

namespace vdlab {

namespace {

void write_samples(H5::Group& root, const std::vector<Video>& samples, const std::vector<std::string>& captions,
                   const std::string& path) {
  if (!samples.empty()) {
    const Video& v0 = samples[0];
    std::vector<std::uint8_t> all;
    all.reserve(samples.size() * v0.data.size());
    for (const auto& v : samples) {
      if (v.frames != v0.frames || v.height != v0.height || v.width != v0.width)
        throw Error(path + ": samples of different shapes in one cell");
      all.insert(all.end(), v.data.begin(), v.data.end());
    }
    h5::write_bytes(root, "samples", {samples.size(), hsize_t(v0.frames), hsize_t(v0.height), hsize_t(v0.width), 3},
                    all.data());
  }
  if (!captions.empty()) h5::write_strings(root, "captions", captions);
}

void read_samples(const H5::Group& root, std::vector<Video>& samples, const std::string& path) {
  if (!root.nameExists("samples")) return;
  H5::DataSet d = root.openDataSet("samples");
  const std::vector<hsize_t> dims = h5::checked_extent(d, 5, 1);
  if (dims[4] != 3 || std::max({dims[1], dims[2], dims[3]}) > hsize_t(std::numeric_limits<int>::max()))
    throw IoError(path + ": /samples is not [N, F, H, W, 3] (shape " + std::to_string(dims[1]) + "x" +
                  std::to_string(dims[2]) + "x" + std::to_string(dims[3]) + "x" + std::to_string(dims[4]) + ")");
  std::vector<std::uint8_t> all(dims[0] * dims[1] * dims[2] * dims[3] * dims[4]);
  d.read(all.data(), H5::PredType::NATIVE_UINT8);
  const std::size_t per = dims[1] * dims[2] * dims[3] * dims[4];
  for (hsize_t n = 0; n < dims[0]; ++n) {
    Video v{int(dims[1]), int(dims[2]), int(dims[3])};
    std::copy(all.begin() + n * per, all.begin() + (n + 1) * per, v.data.begin());
    samples.push_back(std::move(v));
  }
}

Json read_json_attr_or(const H5::Group& root, const char* name, Json fallback) {
  return h5::has_attr(root, name) ? Json::parse(h5::read_string_attr(root, name)) : fallback;
}

// HDF5 writes a dataset's data when the dataset is closed, and the C++ API's destructors swallow a
// failure there (a full disk): the file is read back before it is renamed into place.
void check_reads_back(const std::string& temp, const std::string& path, const char* what) {
  try {
    std::vector<Video> samples;
    std::vector<std::string> captions;
    if (std::string(what) == "samples file") read_samples_file(temp, samples, captions);
    else (void)read_cell(temp, true);
  } catch (const IoError& e) {
    std::string reason = e.what();
    if (reason.rfind(temp + ": ", 0) == 0) reason.erase(0, temp.size() + 2);
    struct statvfs st {};
    const std::string dir = std::filesystem::path(path).parent_path().string();
    const bool full = ::statvfs(dir.empty() ? "." : dir.c_str(), &st) == 0 &&
                      std::uint64_t(st.f_bavail) * st.f_frsize < 64 * 1024;
    throw IoError(path + ": cannot write " + what + " (" + (full ? "No space left on device; " : "") +
                  "it does not read back: " + reason + ")");
  }
}

}  // namespace

void write_samples_file(const std::vector<Video>& samples, const std::vector<std::string>& captions,
                        const std::string& path) {
  h5::quiet();
  AtomicFile out(path);
  try {
    H5::H5File file(out.temp_path(), H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    h5::write_string_attr(root, "format", "vdlab-samples/1");
    write_samples(root, samples, captions, path);
    file.close();
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot write samples file (" + h5::describe(e) + ")");
  }
  check_reads_back(out.temp_path(), path, "samples file");
  out.commit();
}

void read_samples_file(const std::string& path, std::vector<Video>& samples, std::vector<std::string>& captions) {
  h5::quiet();
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such samples file");
  try {
    H5::H5File file(path, H5F_ACC_RDONLY);
    H5::Group root = file.openGroup("/");
    read_samples(root, samples, path);
    if (root.nameExists("captions")) captions = h5::read_strings(root, "captions");
  } catch (const H5::Exception& e) {
    throw IoError(path + ": corrupt or unreadable samples file (" + h5::describe(e) + ")");
  }
}

void write_cell(const CellRecord& cell, const std::string& path) {
  h5::quiet();
  AtomicFile out(path);
  try {
    H5::H5File file(out.temp_path(), H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    h5::write_string_attr(root, "format", kCellFormat);
    h5::write_string_attr(root, "id", cell.id);
    h5::write_string_attr(root, "hash", cell.hash);
    h5::write_string_attr(root, "config", cell.config.dump());
    h5::write_string_attr(root, "provenance", cell.provenance.dump());
    h5::write_string_attr(root, "stats", cell.stats.dump());
    h5::write_string_attr(root, "timings", cell.timings.dump());
    h5::write_string_attr(root, "inputs", cell.inputs.dump());
    h5::write_string_attr(root, "scored", cell.scored.dump());

    H5::Group metrics = file.createGroup("metrics");
    for (const auto& m : cell.metrics) {
      H5::Group g = metrics.createGroup(h5::link_name(m.key));
      h5::write_string_attr(g, "key", m.key);
      h5::write_double_attr(g, "value", m.value);
      h5::write_int_attr(g, "higher_is_better", m.higher_is_better);
      h5::write_int_attr(g, "skipped", m.skipped);
      h5::write_string_attr(g, "skip_reason", m.skip_reason);
      h5::write_string_attr(g, "protocol", m.protocol.dump());
      if (!m.per_sample.empty()) h5::write_doubles(g, "per_sample", m.per_sample);
    }
    write_samples(root, cell.samples, cell.captions, path);
    file.close();
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot write cell file (" + h5::describe(e) + ")");
  }
  check_reads_back(out.temp_path(), path, "cell file");
  out.commit();
}

CellRecord read_cell(const std::string& path, bool with_samples) {
  h5::quiet();
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such cell file");
  CellRecord cell;
  try {
    H5::H5File file(path, H5F_ACC_RDONLY);
    H5::Group root = file.openGroup("/");
    if (!h5::has_attr(root, "format") || h5::read_string_attr(root, "format") != kCellFormat)
      throw IoError(path + ": not a vdlab cell file");
    cell.id = h5::read_string_attr(root, "id");
    cell.hash = h5::read_string_attr(root, "hash");
    cell.config = Json::parse(h5::read_string_attr(root, "config"));
    cell.provenance = Json::parse(h5::read_string_attr(root, "provenance"));
    cell.stats = Json::parse(h5::read_string_attr(root, "stats"));
    cell.timings = Json::parse(h5::read_string_attr(root, "timings"));
    cell.inputs = read_json_attr_or(root, "inputs", Json::object());
    cell.scored = read_json_attr_or(root, "scored", Json::array());
    H5::Group metrics = file.openGroup("metrics");
    for (hsize_t i = 0; i < metrics.getNumObjs(); ++i) {
      H5::Group g = metrics.openGroup(metrics.getObjnameByIdx(i));
      MetricValue m;
      m.key = h5::read_string_attr(g, "key");
      m.value = h5::read_double_attr(g, "value");
      m.higher_is_better = h5::read_int_attr(g, "higher_is_better") != 0;
      m.skipped = h5::read_int_attr(g, "skipped") != 0;
      m.skip_reason = h5::read_string_attr(g, "skip_reason");
      m.protocol = Json::parse(h5::read_string_attr(g, "protocol"));
      if (g.nameExists("per_sample")) m.per_sample = h5::read_doubles(g, "per_sample");
      cell.metrics.push_back(std::move(m));
    }
    if (root.nameExists("captions")) cell.captions = h5::read_strings(root, "captions");
    if (with_samples) read_samples(root, cell.samples, path);
  } catch (const H5::Exception& e) {
    throw IoError(path + ": corrupt or unreadable cell file (" + h5::describe(e) + ")");
  } catch (const Json::exception& e) {
    throw IoError(path + ": corrupt JSON attribute in cell file (" + std::string(e.what()) + ")");
  }
  return cell;
}

std::string read_cell_hash(const std::string& path) {
  h5::quiet();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return "";
  try {
    H5::H5File file(path, H5F_ACC_RDONLY);
    H5::Group root = file.openGroup("/");
    if (!h5::has_attr(root, "format") || h5::read_string_attr(root, "format") != kCellFormat) return "";
    return h5::read_string_attr(root, "hash");
  } catch (const H5::Exception&) {
    return "";
  } catch (const Error&) {  // an attribute of the wrong shape or type (h5::read_string_attr)
    return "";
  }
}

}  // namespace vdlab
