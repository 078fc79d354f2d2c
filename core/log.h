#pragma once
// Logging and progress. On a terminal, progress redraws one line with a count and an ETA; in a log
// file (Slurm, CI) it prints plain lines at a bounded rate so logs stay readable.
#include <chrono>
#include <string>

namespace vdlab {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_debug(const std::string& message);
void log_info(const std::string& message);
void log_warn(const std::string& message);
void log_error(const std::string& message);

class Progress {
 public:
  // `what` names the work ("train", "cells"); `total` its number of units.
  Progress(std::string what, long total);
  ~Progress();
  // Advance to `done` units; `detail` is appended (for example "loss 0.0312").
  void update(long done, const std::string& detail = "");
  void finish(const std::string& detail = "");

 private:
  std::string what_;
  long total_;
  long done_ = 0;
  bool finished_ = false;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "1h02m", "3m05s", "12.3s".
std::string format_duration(double seconds);

}  // namespace vdlab
