// Writes the binary seeds of the fuzz corpus with vdlab's own writers, small on purpose (libFuzzer
// mutates a few kilobytes far faster than a few hundred):
//   fuzz_make_seeds OUT  ->  OUT/clip_store/*.h5, OUT/cell_file/*.h5
// fuzz/corpus/ holds what it wrote; rerun it when a file layout changes.
#include <filesystem>
#include <iostream>

#include "datasets/clip_source.h"
#include "datasets/clip_store.h"
#include "results/cell_file.h"

using namespace vdlab;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds OUT\n";
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out / "clip_store");
  fs::create_directories(out / "cell_file");

  // Clip stores: one clip and three clips of moving shapes, 2 frames of 8x8.
  const auto shapes = make_dataset({{"name", "moving-shapes"}, {"clips", 3}, {"frames", 2}, {"size", 8},
                                    {"min_radius", 1.0}, {"max_radius", 3.0}});
  export_clip_store(*shapes, (out / "clip_store" / "one_clip.h5").string(), 1);
  export_clip_store(*shapes, (out / "clip_store" / "three_clips.h5").string());

  // Cell files: without samples, with samples and captions, and a samples file.
  CellRecord cell;
  cell.id = "uniform-s0-0123abcd";
  cell.hash = "0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd";
  cell.config = {{"seed", 0}, {"variant", {{"method", "uniform"}, {"sampler", {{"name", "ddim"}, {"steps", 4}}}}}};
  cell.provenance = {{"vdlab", "0.1.0"}, {"threads", 1}};
  cell.stats = {{"nfe", 4}};
  cell.timings = {{"generate", 0.5}};
  cell.inputs = {{"dataset", {{"content_hash", "ff00"}}}, {"files", Json::object()}};
  cell.scored = Json::array({{{"config", {{"name", "mm"}}}, {"keys", {"mm"}}, {"files", Json::array()}}});
  MetricValue mm;
  mm.key = "mm";
  mm.value = 1.5;
  mm.per_sample = {1.0, 2.0};
  mm.protocol = {{"name", "mm"}};
  MetricValue fvd;
  fvd.key = "fvd[tiny-i3d]";
  fvd.skipped = true;
  fvd.skip_reason = "no extractor";
  cell.metrics = {mm, fvd};
  write_cell(cell, (out / "cell_file" / "no_samples.h5").string());
  for (std::size_t i = 0; i < 2; ++i) {
    const Clip c = shapes->get(i);
    cell.samples.push_back(c.video);
    cell.captions.push_back(c.caption);
  }
  write_cell(cell, (out / "cell_file" / "with_samples.h5").string());
  write_samples_file(cell.samples, cell.captions, (out / "cell_file" / "samples_file.h5").string());
  std::cout << "seeds written under " << out << "\n";
  return 0;
}
