#include "runners/slurm.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_name.h"

extern char** environ;

namespace vdlab {

namespace fs = std::filesystem;

std::string compact_index_list(std::vector<std::size_t> indices) {
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(indices[i]);
    if (j > i) out += (j == i + 1 ? "," : "-") + std::to_string(indices[j]);
    i = j + 1;
  }
  return out;
}

std::vector<std::size_t> parse_index_list(const std::string& list, const std::string& what) {
  static const std::regex item(R"((\d+)(?:-(\d+))?)");
  std::vector<std::size_t> out;
  std::stringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    std::smatch m;
    if (!std::regex_match(part, m, item))
      throw ConfigError(what + ": '" + list + "' is not a list of cell indices like 0-3,5,7");
    const std::size_t from = std::stoul(m[1]), to = m[2].matched ? std::stoul(m[2]) : from;
    if (to < from) throw ConfigError(what + ": the range '" + part + "' runs backwards");
    for (std::size_t i = from; i <= to; ++i) out.push_back(i);
  }
  if (out.empty()) throw ConfigError(what + ": names no cell index");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool command_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream in(path);
  for (std::string dir; std::getline(in, dir, ':');)
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) return true;
  return false;
}

namespace {

struct Captured {
  int code = -1;
  std::string output;
};

// Runs a program found on PATH with `argv` as its arguments, exactly: no shell is involved, so a path or
// an option holding spaces, quotes, ';', '|' or '$(...)' reaches the program as one argument and is
// never run as a command. Captures stdout, and stderr when `with_stderr` (else stderr is discarded).
Captured capture(const std::vector<std::string>& argv, bool with_stderr) {
  Captured r;
  int fds[2];
  if (::pipe(fds) != 0) return r;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (with_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  else posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int err = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    r.output = "cannot run " + argv.front() + ": " + std::strerror(err);
    return r;
  }
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = ::read(fds[0], buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r.output.append(buf.data(), std::size_t(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t at = 0;
  while (at < s.size() && std::isspace(static_cast<unsigned char>(s[at]))) ++at;
  return s.substr(at);
}

std::string jobs_path(const std::string& out_dir) { return slurm_dir(out_dir) + "/jobs.json"; }

}  // namespace

std::string slurm_dir(const std::string& out_dir) { return out_dir + "/slurm"; }

std::vector<SubmittedJob> read_submitted_jobs(const std::string& out_dir) {
  std::vector<SubmittedJob> jobs;
  const std::string path = jobs_path(out_dir);
  if (!fs::exists(path)) return jobs;
  try {
    std::ifstream in(path);
    const Json j = Json::parse(in);
    for (const auto& e : j.at("jobs"))
      jobs.push_back({e.at("id").get<std::string>(), e.at("kind").get<std::string>(), e.value("script", std::string()),
                      e.value("detail", std::string())});
  } catch (const Json::exception& e) {
    throw IoError(path + ": not a record of submitted jobs (" + std::string(e.what()) + ")");
  }
  return jobs;
}

void record_submitted_jobs(const std::string& out_dir, const std::vector<SubmittedJob>& added) {
  std::vector<SubmittedJob> jobs = read_submitted_jobs(out_dir);
  jobs.insert(jobs.end(), added.begin(), added.end());
  Json list = Json::array();
  for (const auto& j : jobs) list.push_back({{"id", j.id}, {"kind", j.kind}, {"script", j.script}, {"detail", j.detail}});
  fs::create_directories(slurm_dir(out_dir));
  write_file_atomically(jobs_path(out_dir), Json{{"jobs", list}}.dump(2) + "\n");
}

bool QueuedTask::running() const {
  return state == "RUNNING" || state == "COMPLETING" || state == "CONFIGURING" || state == "STAGE_OUT";
}

std::vector<QueuedTask> parse_squeue_lines(const std::string& text, const std::vector<SubmittedJob>& jobs) {
  std::set<std::string> ours;
  for (const auto& j : jobs) ours.insert(j.id);
  std::vector<QueuedTask> tasks;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream fields(trim(line));
    for (std::string x; std::getline(fields, x, '|');) f.push_back(x);
    if (f.size() < 4) continue;
    QueuedTask t;
    t.job = f[0];
    t.base = f[1];
    if (!ours.count(t.base)) continue;  // another sweep's job, or someone else's
    if (!f[2].empty() && std::all_of(f[2].begin(), f[2].end(), [](unsigned char c) { return std::isdigit(c) != 0; })) t.array_task = std::stol(f[2]);
    t.state = f[3];
    t.reason = f.size() > 4 ? f[4] : "";
    tasks.push_back(t);
  }
  return tasks;
}

std::optional<std::vector<QueuedTask>> query_queue(const std::vector<SubmittedJob>& jobs, std::string& problem) {
  problem.clear();
  if (!command_on_path("squeue")) return std::nullopt;
  // Every task of the user's jobs (-r: one line per array task, pending ones included), filtered here:
  // asking for the recorded ids by name fails outright once one of them has left the queue.
  const Captured r = capture({"squeue", "--noheader", "--array", "--me", "--format=%i|%F|%K|%T|%r"}, true);
  if (r.code != 0) {
    problem = "squeue failed: " + trim(r.output);
    return std::nullopt;
  }
  return parse_squeue_lines(r.output, jobs);
}

namespace {

// A value on a `#SBATCH` line is not shell-quoted (sbatch reads those lines itself), so a line break in it
// would start a line of the script: refused. The job name is reduced to file-name characters.
std::string directive_value(const std::string& value, const std::string& what) {
  for (char c : value)
    if (c == '\n' || c == '\r' || c == '\0')
      throw ConfigError(what + ": '" + value + "' holds a line break, which a batch script line cannot carry");
  return value;
}

// What both batch scripts share: the header, the USR2 trap that forwards the signal and requeues the
// task, and the command, run in the background so the trap runs while it works. Every path and value in
// the command is shell-quoted, so the experiment's name, paths and options stay words.
std::string batch_script(const SbatchSettings& s, const std::string& job_name, const std::string& log,
                         const std::string& command) {
  std::string threads = s.threads > 0 ? std::to_string(s.threads) : "${SLURM_CPUS_PER_TASK:-1}";
  std::ostringstream o;
  o << "#!/bin/bash\n"
    << "# Written by vdlab submit. Options given to sbatch on its command line override these lines.\n"
    << "#SBATCH --job-name=" << file_safe(job_name) << "\n"
    << "#SBATCH --output=" << directive_value(log, "--out") << "\n"
    << "#SBATCH --open-mode=append\n"
    << "#SBATCH --requeue\n"
    << "#SBATCH --signal=B:USR2@" << s.signal_seconds << "\n"
    << "set -u\n"
    << "task=${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID:-}}\n"
    << "task=${task:-${SLURM_JOB_ID:-}}\n"
    << "echo \"vdlab: task $task on $(hostname), attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 )), $(date -u +%FT%TZ)\"\n"
    << "# USR2 comes " << s.signal_seconds << " s before the time limit: vdlab checkpoints any backbone training in\n"
    << "# flight and stops, and the task goes back to the queue to resume there.\n"
    << "requeue=0\n"
    << "child=\n"
    << "trap 'requeue=1; [ -n \"$child\" ] && kill -USR2 \"$child\" 2>/dev/null' USR2\n"
    << command << " --threads " << threads << " &\n"
    << "child=$!\n"
    << "wait \"$child\"; rc=$?\n"
    << "while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; rc=$?; done\n"
    << "if [ \"$requeue\" = 1 ]; then\n"
    << "  echo \"vdlab: task $task stopped before the time limit (exit $rc); requeued\"\n"
    << "  scontrol requeue \"$task\"\n"
    << "fi\n"
    << "exit \"$rc\"\n";
  return o.str();
}

std::string common_arguments(const SbatchSettings& s) {
  std::string a = " --out " + shell_quote(s.out_dir) + " --cache " + shell_quote(s.cache_dir) + " --device " +
                  shell_quote(s.device);
  if (!s.weights_dir.empty()) a += " --weights " + shell_quote(s.weights_dir);
  return a;
}

}  // namespace

std::string train_script(const SbatchSettings& s, std::size_t backbone_index) {
  const std::string k = std::to_string(backbone_index);
  return batch_script(s, s.job_name + "-train" + k, slurm_dir(s.out_dir) + "/logs/train" + k + "-%j.log",
                      shell_quote(s.vdlab) + " train " + shell_quote(s.experiment) + " --backbone " + k +
                          common_arguments(s));
}

std::string cells_script(const SbatchSettings& s) {
  return batch_script(s, s.job_name + "-cells", slurm_dir(s.out_dir) + "/logs/cells-%A_%a.log",
                      shell_quote(s.vdlab) + " cell " + shell_quote(s.experiment) +
                          " --index \"$SLURM_ARRAY_TASK_ID\"" + common_arguments(s));
}

std::string sbatch_submit(const std::vector<std::string>& args, const std::string& script) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(script);
  const Captured r = capture(argv, true);
  // The id is the last line ("123" or "123;cluster"); warnings may come before it.
  std::string last;
  std::stringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (!trim(line).empty()) last = trim(line);
  static const std::regex id(R"((\d+)(;.*)?)");
  std::smatch m;
  if (r.code != 0 || !std::regex_match(last, m, id))
    throw Error("sbatch refused " + script + ": " + trim(r.output));
  return m[1];
}

}  // namespace vdlab
