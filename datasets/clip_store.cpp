#include "datasets/clip_store.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hdf5_util.h"

namespace vdlab {

namespace {

class ClipStore : public ClipSource {
 public:
  explicit ClipStore(const Params& p) : config_(p.json()), path_(p.get<std::string>("path")) {
    h5::quiet();
    if (path_.empty()) p.fail("path", "missing: the .h5 clip store to read");
    if (!std::filesystem::exists(path_)) throw IoError(p.field("path") + ": " + path_ + ": no such file");
    try {
      file_ = H5::H5File(path_, H5F_ACC_RDONLY);
      H5::Group root = file_.openGroup("/");
      if (!h5::has_attr(root, "format") || h5::read_string_attr(root, "format") != kClipStoreFormat)
        throw IoError(path_ + ": not a vdlab clip store (no format attribute '" + kClipStoreFormat + "')");
      videos_ = file_.openDataSet("videos");
      const std::vector<hsize_t> dims = h5::checked_extent(videos_, 5, 1);
      std::copy(dims.begin(), dims.end(), dims_);
      if (dims_[4] != 3) throw IoError(path_ + ": /videos does not have 3 channels");
      if (std::max({dims_[1], dims_[2], dims_[3]}) > hsize_t(std::numeric_limits<int>::max()))
        throw IoError(path_ + ": /videos declares frames of " + std::to_string(dims_[1]) + "x" + std::to_string(dims_[2]) +
                      "x" + std::to_string(dims_[3]) + ": corrupt");
      labels_ = h5::read_ints(root, "labels");
      captions_ = h5::read_strings(root, "captions");
      ids_ = h5::read_strings(root, "ids");
      if (labels_.size() != dims_[0] || captions_.size() != dims_[0] || ids_.size() != dims_[0])
        throw IoError(path_ + ": labels, captions and ids do not match the number of videos");
    } catch (const H5::Exception& e) {
      throw IoError(path_ + ": corrupt or unreadable clip store (" + h5::describe(e) + ")");
    }
    const int limit = p.get<int>("clips");
    count_ = limit > 0 ? std::min<std::size_t>(std::size_t(limit), dims_[0]) : dims_[0];
  }

  std::size_t size() const override { return count_; }
  Json describe() const override { return config_; }

  Clip get(std::size_t index) const override {
    if (index >= count_) throw Error("clip store " + path_ + ": index " + std::to_string(index) + " out of range");
    Clip c;
    c.video = Video(int(dims_[1]), int(dims_[2]), int(dims_[3]));
    try {
      H5::DataSpace file_space = videos_.getSpace();
      const hsize_t start[5] = {index, 0, 0, 0, 0};
      const hsize_t count[5] = {1, dims_[1], dims_[2], dims_[3], 3};
      file_space.selectHyperslab(H5S_SELECT_SET, count, start);
      H5::DataSpace mem(5, count);
      videos_.read(c.video.data.data(), H5::PredType::NATIVE_UINT8, mem, file_space);
    } catch (const H5::Exception& e) {
      throw IoError(path_ + ": clip " + std::to_string(index) + " unreadable (" + h5::describe(e) + ")");
    }
    c.label = labels_[index];
    c.caption = captions_[index];
    c.id = ids_[index];
    return c;
  }

 private:
  Json config_;
  std::string path_;
  H5::H5File file_;
  H5::DataSet videos_;
  hsize_t dims_[5] = {0, 0, 0, 0, 0};
  std::size_t count_ = 0;
  std::vector<std::int32_t> labels_;
  std::vector<std::string> captions_, ids_;
};

}  // namespace

void export_clip_store(const ClipSource& source, const std::string& path, std::size_t limit) {
  h5::quiet();
  const std::size_t n = std::min(limit, source.size());
  if (n == 0) throw Error("export_clip_store: the source has no clips");
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  AtomicFile out(path);
  try {
    H5::H5File file(out.temp_path(), H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    std::vector<std::int32_t> labels;
    std::vector<std::string> captions, ids;
    H5::DataSet videos;
    hsize_t shape[5] = {n, 0, 0, 0, 3};
    for (std::size_t i = 0; i < n; ++i) {
      const Clip c = source.get(i);
      if (i == 0) {
        shape[1] = hsize_t(c.video.frames), shape[2] = hsize_t(c.video.height), shape[3] = hsize_t(c.video.width);
        H5::DSetCreatPropList props;
        const hsize_t chunk[5] = {1, shape[1], shape[2], shape[3], 3};
        props.setChunk(5, chunk);
        props.setShuffle();
        props.setDeflate(4);
        videos = file.createDataSet("videos", H5::PredType::NATIVE_UINT8, H5::DataSpace(5, shape), props);
      } else if (hsize_t(c.video.frames) != shape[1] || hsize_t(c.video.height) != shape[2] ||
                 hsize_t(c.video.width) != shape[3]) {
        throw Error(path + ": clip " + c.id + " has a different shape from the first clip");
      }
      H5::DataSpace file_space = videos.getSpace();
      const hsize_t start[5] = {i, 0, 0, 0, 0};
      const hsize_t count[5] = {1, shape[1], shape[2], shape[3], 3};
      file_space.selectHyperslab(H5S_SELECT_SET, count, start);
      videos.write(c.video.data.data(), H5::PredType::NATIVE_UINT8, H5::DataSpace(5, count), file_space);
      labels.push_back(c.label);
      captions.push_back(c.caption);
      ids.push_back(c.id);
    }
    h5::write_ints(root, "labels", labels);
    h5::write_strings(root, "captions", captions);
    h5::write_strings(root, "ids", ids);
    h5::write_string_attr(root, "format", kClipStoreFormat);
    h5::write_string_attr(root, "source", source.describe().dump());
    file.close();
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot write clip store (" + h5::describe(e) + ")");
  }
  out.commit();
}

void register_clip_store(DatasetRegistry& registry) {
  registry.add({"hdf5",
                "an HDF5 clip store written by `export_clip_store` (any split, exported once, read back fast)",
                {{"path", "", "the .h5 file"}, {"clips", 0, "at most this many clips; 0 = all"}},
                [](const Params& p) -> ClipSourcePtr { return std::make_shared<ClipStore>(p); }});
}

}  // namespace vdlab
