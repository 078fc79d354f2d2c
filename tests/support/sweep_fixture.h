#pragma once
// Synthetic finished cells for the sweep tests: cell files with the layout `vdlab run` writes, made
// without generating anything, so collect and compare can be tested in milliseconds.
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/hash.h"
#include "results/cell_file.h"

namespace vdlab::testing {

struct FixtureCell {
  std::string label;
  std::string sampler = "ddim";
  int steps = 10;
  std::uint64_t seed = 0;
  double mm_shift = 0;             // added to every per-sample mm value
  double fvd = 40;                 // the set-level value
  std::string fvd_extractor_sha = "aa11bb22cc33dd44ee55ff6600112233aa11bb22cc33dd44ee55ff6600112233";
  std::size_t samples = 6;
  bool with_videos = true;
  std::uint64_t salt = 0;          // another draw of the per-sample noise (a rerun on other hardware)
};

inline Json fixture_config(const FixtureCell& f) {
  return {{"backbone", {{"name", "gaussian"}, {"dim", 3}}},
          {"dataset", {{"name", "moving-shapes"}, {"split", "test"}, {"clips", int(f.samples)}, {"frames", 4}, {"size", 8}}},
          {"train_dataset", {{"name", "moving-shapes"}, {"split", "train"}}},
          {"variant", {{"method", "uniform"}, {"sampler", {{"name", f.sampler}, {"steps", f.steps}}}}},
          {"seed", f.seed},
          {"generate", {{"batch_size", 4}, {"save_samples", f.with_videos}}}};
}

// Writes DIR/cells/<label>-s<seed>-<hash8>.h5 and returns its path. The per-sample values are drawn from a
// seeded generator (same seed, same values), so candidate and baseline share their per-seed noise.
inline std::string write_fixture_cell(const std::filesystem::path& dir, const FixtureCell& f) {
  CellRecord r;
  r.config = fixture_config(f);
  r.hash = config_hash(r.config);
  r.id = f.label + "-s" + std::to_string(f.seed) + "-" + r.hash.substr(0, 8);
  r.provenance = {{"vdlab_version", "test"}};
  r.stats = {{"nfe", f.steps}};
  std::mt19937_64 rng(f.seed * 7919 + std::uint64_t(f.steps) + f.salt * 104729);
  std::normal_distribution<double> noise(0.05, 0.01);
  MetricValue mm;
  mm.key = "mm";
  mm.higher_is_better = true;
  mm.protocol = {{"metric", "mm"}};
  double s = 0;
  for (std::size_t i = 0; i < f.samples; ++i) {
    mm.per_sample.push_back(noise(rng) + f.mm_shift);
    s += mm.per_sample.back();
  }
  mm.value = s / double(f.samples);
  MetricValue flow = mm;
  flow.key = "flow_motion";
  for (auto& v : flow.per_sample) v = v * 10 + 0.2;
  flow.value = mm.value * 10 + 0.2;
  MetricValue fvd;
  fvd.key = "fvd[tiny-i3d]";
  fvd.value = f.fvd;
  fvd.protocol = {{"protocol", "stylegan-v"},
                  {"estimator", "biased"},
                  {"extractor", {{"name", "tiny-i3d"}, {"sha256", f.fvd_extractor_sha}}}};
  MetricValue clip;
  clip.key = "clip_sim[clip-vit-b32]";
  clip.skipped = true;
  clip.skip_reason = "no clip-vit-b32.pt in the weights folder";
  r.metrics = {fvd, mm, flow, clip};
  for (std::size_t i = 0; i < f.samples; ++i) {
    Video v(4, 8, 8);
    for (int t = 0; t < 4; ++t)
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) v.at(t, y, x, int(i % 3)) = std::uint8_t(40 * t + 20 * x + f.steps);
    if (f.with_videos) r.samples.push_back(std::move(v));
    r.captions.push_back("a shape number " + std::to_string(i));
  }
  std::filesystem::create_directories(dir / "cells");
  const std::string path = (dir / "cells" / (r.id + ".h5")).string();
  write_cell(r, path);
  return path;
}

// A small sweep: samplers ddim and unipc at 10 and 20 steps, seeds 0..2.
inline void write_fixture_sweep(const std::filesystem::path& dir, double mm_shift_of_unipc = 0.02,
                                const std::string& fvd_sha = FixtureCell().fvd_extractor_sha, std::uint64_t salt = 0) {
  for (const std::string sampler : {"ddim", "unipc"})
    for (int steps : {10, 20})
      for (std::uint64_t seed : {0, 1, 2}) {
        FixtureCell f;
        f.label = sampler + "-steps=" + std::to_string(steps);
        f.sampler = sampler;
        f.steps = steps;
        f.seed = seed;
        f.mm_shift = sampler == "unipc" ? mm_shift_of_unipc : 0;
        f.fvd = (sampler == "unipc" ? 30 : 40) - steps / 10.0 + double(seed);
        f.fvd_extractor_sha = fvd_sha;
        f.salt = salt;
        if (salt) f.fvd += 0.3 * double((seed * 5 + std::uint64_t(steps) + salt) % 4);
        write_fixture_cell(dir, f);
      }
}

}  // namespace vdlab::testing
