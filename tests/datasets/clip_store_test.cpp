#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "datasets/clip_source.h"
#include "datasets/clip_store.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

TEST(ClipStoreTest, ExportedSplitReadsBackIdentically) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_clip_store_test";
  fs::remove_all(dir);
  auto shapes = make_dataset({{"name", "moving-shapes"}, {"clips", 5}, {"frames", 6}, {"size", 16}});
  const std::string path = (dir / "shapes.h5").string();
  export_clip_store(*shapes, path);
  auto store = make_dataset({{"name", "hdf5"}, {"path", path}});
  ASSERT_EQ(store->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    const Clip a = shapes->get(i), b = store->get(i);
    EXPECT_EQ(a.video.data, b.video.data);
    EXPECT_EQ(a.caption, b.caption);
    EXPECT_EQ(a.label, b.label);
    EXPECT_EQ(a.id, b.id);
  }
  // Same clips, same content hash, whichever source they come from.
  EXPECT_EQ(store->content_hash(), shapes->content_hash());
  EXPECT_EQ(make_dataset({{"name", "hdf5"}, {"path", path}, {"clips", 2}})->size(), 2u);
}

TEST(ClipStoreTest, BadFilesAreNamed) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_clip_store_bad";
  fs::create_directories(dir);
  const std::string bad = (dir / "bad.h5").string();
  std::ofstream(bad) << "garbage";
  for (const std::string& path : {bad, (dir / "missing.h5").string()}) {
    try {
      make_dataset({{"name", "hdf5"}, {"path", path}});
      FAIL() << path;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(MovingFashionMnistTest, DeterministicItemsFromDebianData) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) GTEST_SKIP();
  const Json cfg = {{"name", "moving-fashion-mnist"}, {"split", "test"}, {"clips", 3}, {"frames", 4}};
  auto a = make_dataset(cfg), b = make_dataset(cfg);
  EXPECT_EQ(a->get(2).video.data, b->get(2).video.data);
  const Clip c = a->get(0);
  EXPECT_EQ(c.video.height, 64);
  EXPECT_GE(c.label, 0);
  EXPECT_LT(c.label, 10);
  EXPECT_NE(c.caption.find(a->class_names()[std::size_t(c.label)]), std::string::npos);
}

}  // namespace
}  // namespace vdlab
