// The out-of-tree example (examples/custom_method) builds against the installed vdlab package and runs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

namespace vdlab {
namespace {

namespace fs = std::filesystem;

int shell(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), int(buf.size()), pipe)) output += buf.data();
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ExampleIntegration, BuildsAgainstInstalledPackage) {
  const fs::path work = fs::temp_directory_path() / "vdlab_example_test";
  fs::remove_all(work);
  const std::string prefix = (work / "install").string(), build = (work / "build").string();
  const std::string src = std::string(VDLAB_SOURCE_DIR) + "/examples/custom_method";
  std::string log;
  ASSERT_EQ(shell("cmake --install " + std::string(VDLAB_BINARY_DIR) + " --prefix " + prefix, log), 0) << log;
  ASSERT_TRUE(fs::exists(prefix + "/lib/cmake/vdlab/vdlabConfig.cmake")) << log;
  ASSERT_TRUE(fs::exists(prefix + "/include/vdlab/methods/method.h")) << log;
  ASSERT_EQ(shell("cmake -S " + src + " -B " + build + " -DCMAKE_PREFIX_PATH=" + prefix +
                      " -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache",
                  log),
            0)
      << log;
  ASSERT_EQ(shell("cmake --build " + build + " -j 2", log), 0) << log;
  std::string run;
  ASSERT_EQ(shell(build + "/shared_noise_demo run " + src + "/experiment.yaml --out " + (work / "run").string() +
                      " --cache " + (work / "cache").string() + " --threads 1",
                  run),
            0)
      << run;
  EXPECT_NE(run.find("shared-noise-s0"), std::string::npos) << run;
  std::string listed;
  shell(build + "/shared_noise_demo list methods", listed);
  EXPECT_NE(listed.find("shared-noise"), std::string::npos);
}

}  // namespace
}  // namespace vdlab
