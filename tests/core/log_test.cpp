#include <gtest/gtest.h>

#include "core/log.h"

namespace vdlab {
namespace {

// The same warning in every cell of a sweep is printed once; a different one still prints.
TEST(LogTest, EachDistinctWarningPrintsOnce) {
  testing::internal::CaptureStderr();
  for (int cell = 0; cell < 3; ++cell) log_warn("fvd[i3d] skipped: extractor i3d not found (log test)");
  log_warn("another warning (log test)");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err,
            "warning: fvd[i3d] skipped: extractor i3d not found (log test)\n"
            "warning: another warning (log test)\n");
}

}  // namespace
}  // namespace vdlab
