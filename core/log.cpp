#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>

namespace vdlab {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_mutex;
// Warnings already printed: a sweep meets the same one in every cell (a skipped metric, a missing
// file), and it is printed once per process.
std::set<std::string> g_warned;  // guarded by g_mutex

bool first_warning(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_warned.insert(message).second;
}

void emit(LogLevel level, const char* tag, const std::string& message) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s\n", tag, message.c_str());
  std::fflush(stderr);
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }
void log_debug(const std::string& m) { emit(LogLevel::debug, "debug: ", m); }
void log_info(const std::string& m) { emit(LogLevel::info, "", m); }
void log_warn(const std::string& m) {
  if (first_warning(m)) emit(LogLevel::warn, "warning: ", m);
}
void log_error(const std::string& m) { emit(LogLevel::error, "error: ", m); }

std::string format_duration(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

Progress::Progress(std::string what, long total)
    : what_(std::move(what)), total_(total), tty_(isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_ && done_ > 0) std::fprintf(stderr, "\n");
}

void Progress::update(long done, const std::string& detail) {
  done_ = done;
  if (static_cast<int>(LogLevel::info) < static_cast<int>(log_level())) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  // Terminal: redraw up to 10 times a second. Log: a line every 10 seconds at most.
  if (since_print < (tty_ ? 0.1 : 10.0) && done < total_) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * double(total_ - done) / double(done) : 0.0;
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s %ld/%ld (%3.0f%%) elapsed %s eta %s%s%s%s", tty_ ? "\r\033[K" : "", what_.c_str(), done,
               total_, total_ > 0 ? 100.0 * double(done) / double(total_) : 100.0, format_duration(elapsed).c_str(),
               format_duration(eta).c_str(), detail.empty() ? "" : "  ", detail.c_str(), tty_ ? "" : "\n");
  std::fflush(stderr);
}

void Progress::finish(const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  if (static_cast<int>(LogLevel::info) < static_cast<int>(log_level())) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s %ld/%ld done in %s%s%s\n", tty_ ? "\r\033[K" : "", what_.c_str(), done_, total_,
               format_duration(elapsed).c_str(), detail.empty() ? "" : "  ", detail.c_str());
  std::fflush(stderr);
}

}  // namespace vdlab
