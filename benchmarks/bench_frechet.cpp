// The 2048-dimensional Fréchet distance, vdlab (its Cholesky route, and the symmetric route it falls back
// to, through LAPACK and OpenBLAS) against scipy's sqrtm route (pytorch-fid's code, python3-scipy with
// OpenBLAS), side by side in one run on the same statistics. Prints a table; the aim is for vdlab to be
// at least 6x faster than scipy.
//
//   build-*/benchmarks/bench_frechet [--dim 2048] [--repeats 3]
// The statistics are those of the dim2048 Fréchet fixture recipe (tests/fixtures/metrics/frechet_cases.json).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/frechet.h"

namespace {

double counter_uniform(std::uint64_t seed, std::uint64_t k) {
  std::uint64_t z = (seed << 40) ^ k;
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return 2.0 * (double(z >> 11) * 0x1.0p-53) - 1.0;
}

Eigen::MatrixXd counter_matrix(std::uint64_t seed, int rows, int cols) {
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = counter_uniform(seed, std::uint64_t(i) * cols + j);
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int dim = 2048, repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dim") dim = std::atoi(argv[i + 1]);
    else if (a == "--repeats") repeats = std::atoi(argv[i + 1]);
  }
  // The dim2048 recipe: rank dim, n_a = 1.25 dim, n_b = 1.125 dim.
  const int n_a = dim + dim / 4, n_b = dim + dim / 8;
  std::printf("preparing statistics: dim %d, %d and %d vectors\n", dim, n_a, n_b);
  const double scale = 1.0 / std::sqrt(double(dim));
  const Eigen::MatrixXd mix = counter_matrix(43, dim, dim) * scale;
  const Eigen::MatrixXd mix_b = mix + 0.3 * (counter_matrix(44, dim, dim) * scale);
  vdlab::FeatureStats a(dim), b(dim);
  a.add(Eigen::MatrixXd(counter_matrix(41, n_a, dim) * mix));
  Eigen::MatrixXd xb = counter_matrix(42, n_b, dim) * mix_b;
  for (int j = 0; j < dim; ++j) xb.col(j).array() += 0.1 * counter_uniform(42 + 1000, j);
  b.add(xb);
  const Eigen::VectorXd mu1 = a.mean(), mu2 = b.mean();
  const Eigen::MatrixXd s1 = a.covariance(vdlab::CovarianceEstimator::unbiased);
  const Eigen::MatrixXd s2 = b.covariance(vdlab::CovarianceEstimator::unbiased);

  std::vector<double> ours, symmetric;
  double value = 0, value_symmetric = 0;
  const char* route = "";
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    const vdlab::FrechetResult fr = vdlab::frechet_distance(mu1, s1, mu2, s2);
    value = fr.value;
    route = fr.route;
    ours.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    t0 = std::chrono::steady_clock::now();
    value_symmetric = fr.mean_term + fr.trace1 + fr.trace2 - 2.0 * vdlab::trace_sqrt_product_symmetric(s1, s2);
    symmetric.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  // The same statistics to scipy.
  const std::string file = (std::filesystem::temp_directory_path() / "vdlab_bench_frechet.bin").string();
  {
    std::ofstream out(file, std::ios::binary);
    const std::int64_t d = dim;
    out.write(reinterpret_cast<const char*>(&d), sizeof d);
    auto put = [&](const double* p, std::size_t n) { out.write(reinterpret_cast<const char*>(p), std::streamsize(n * 8)); };
    put(mu1.data(), std::size_t(dim));
    put(s1.data(), std::size_t(dim) * dim);  // symmetric: column order is row order
    put(mu2.data(), std::size_t(dim));
    put(s2.data(), std::size_t(dim) * dim);
  }
  const std::string cmd = "/usr/bin/python3 " + std::string(VDLAB_SOURCE_DIR) + "/benchmarks/bench_frechet.py " + file +
                          " " + std::to_string(repeats);
  std::string output;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) output += buf;
    if (pclose(p) != 0) output.clear();
  }
  std::filesystem::remove(file);

  std::printf("\nFrechet distance, dim %d, median of %d (threads: %u cores, OPENBLAS_NUM_THREADS=%s)\n", dim, repeats,
              std::thread::hardware_concurrency(), std::getenv("OPENBLAS_NUM_THREADS") ? std::getenv("OPENBLAS_NUM_THREADS") : "unset");
  std::printf("%-48s %10s %22s %12s\n", "implementation", "seconds", "value", "rel. diff");
  const std::string ours_label = std::string("vdlab (") + route + " route, OpenBLAS)";
  std::printf("%-48s %10.3f %22.15g %12s\n", ours_label.c_str(), median(ours), value, "-");
  std::printf("%-48s %10.3f %22.15g %12.3e\n", "vdlab (symmetric route, the fallback)", median(symmetric),
              value_symmetric, std::abs(value_symmetric - value) / std::abs(value));
  if (output.empty()) {
    std::printf("%-48s %10s\n", "scipy sqrtm (pytorch-fid)", "failed: needs /usr/bin/python3 with scipy");
    return 1;
  }
  const auto j = nlohmann::json::parse(output);
  const double sv = j.at("value").get<double>(), st = j.at("seconds").get<double>();
  const std::string label = "scipy " + j.at("scipy").get<std::string>() + " sqrtm (pytorch-fid)";
  std::printf("%-48s %10.3f %22.15g %12.3e\n", label.c_str(), st, sv, std::abs(sv - value) / std::abs(sv));
  std::printf("\nspeed-up over scipy: %.2fx (symmetric route: %.2fx; scipy's BLAS: %s)\n", st / median(ours),
              st / median(symmetric), j.at("blas").get<std::string>().c_str());
  return 0;
}
