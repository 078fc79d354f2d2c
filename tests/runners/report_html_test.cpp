// report.html (written by `vdlab collect`) in a real browser: headless Chromium (Debian's chromium)
// loads the page from disk, and every image and video element must load with no console message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "runners/cli_support.h"
#include "support/sweep_fixture.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using namespace vdlab::testing;

std::string chromium_binary() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return "";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string chromium(const std::string& binary, const std::string& mode, const fs::path& page, const fs::path& profile) {
  return binary + " --headless --no-sandbox --disable-gpu --no-first-run --mute-audio --user-data-dir=" +
         profile.string() + " --autoplay-policy=no-user-gesture-required --virtual-time-budget=20000 " +
         "--enable-logging=stderr --v=0 " + mode + " file://" + fs::absolute(page).string();
}

// The #media-status element's attributes as the page's own check left them.
std::string status_attr(const std::string& dom, const std::string& name) {
  const std::regex status("<p id=\"media-status\"[^>]*>");
  std::smatch m;
  if (!std::regex_search(dom, m, status)) return "<no #media-status>";
  const std::regex attr(name + "=\"([^\"]*)\"");
  std::smatch a;
  const std::string tag = m.str();
  return std::regex_search(tag, a, attr) ? a[1].str() : "<no " + name + ">";
}

TEST(ReportHtmlIntegration, EveryImageAndVideoLoadsInHeadlessChromiumWithNoConsoleMessage) {
  const std::string browser = chromium_binary();
  if (browser.empty())
    GTEST_SKIP() << "chromium is not installed (Debian's chromium; scripts/install-deps.sh installs it): report.html "
                    "not opened in a browser";
  const fs::path dir = fresh_dir("vdlab_report_html");
  write_fixture_sweep(dir);
  const CommandResult r = run_command(vdlab_binary() + " collect " + dir.string() + " --samples 2 -q");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string html = read_text(dir / "report.html");
  const int videos = count_occurrences(html, "<video "), images = count_occurrences(html, "<img ");
  EXPECT_EQ(videos, 4 * 3 * 2);  // 4 variants x 3 seeds x 2 samples
  EXPECT_EQ(images, 3 + 1);      // three plots and the labelled grid

  const CommandResult dom = run_command(chromium(browser, "--dump-dom", dir / "report.html", dir / "profile"));
  ASSERT_EQ(dom.code, 0) << dom.output.substr(0, 4000);
  EXPECT_EQ(status_attr(dom.output, "data-done"), "1") << dom.output.substr(0, 4000);
  EXPECT_EQ(status_attr(dom.output, "data-total"), std::to_string(videos + images));
  EXPECT_EQ(status_attr(dom.output, "data-loaded"), std::to_string(videos + images));
  EXPECT_EQ(status_attr(dom.output, "data-failed"), "0");
  EXPECT_EQ(status_attr(dom.output, "data-script-errors"), "0");
  EXPECT_EQ(count_occurrences(dom.output, "data-load=\"ok\""), videos + images);
  // Chromium logs every console message (errors included: a missing file, a script error) as CONSOLE.
  EXPECT_EQ(count_occurrences(dom.output, "CONSOLE"), 0) << dom.output.substr(0, 4000);

  const CommandResult shot = run_command(chromium(browser, "--hide-scrollbars --window-size=1400,1800 --screenshot=" +
                                                               (dir / "report.png").string(),
                                                  dir / "report.html", dir / "profile"));
  EXPECT_EQ(shot.code, 0) << shot.output.substr(0, 2000);
  EXPECT_TRUE(fs::exists(dir / "report.png"));

  // The check can fail: the same page with one video file missing.
  fs::remove(dir / "html" / "videos" / "unipc-steps=20-moving-shapes_test-s1-0.mp4");
  const CommandResult broken = run_command(chromium(browser, "--dump-dom", dir / "report.html", dir / "profile"));
  EXPECT_EQ(status_attr(broken.output, "data-failed"), "1") << broken.output.substr(0, 4000);
}

}  // namespace
}  // namespace vdlab
