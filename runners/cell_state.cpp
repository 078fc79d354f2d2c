#include "runners/cell_state.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "results/cell_file.h"
#include "runners/cell_runner.h"
#include "runners/provenance.h"

namespace vdlab {

namespace fs = std::filesystem;

std::string InputIdentities::dataset_hash(const Json& dataset) {
  const std::string key = config_hash(dataset);
  auto it = datasets_.find(key);
  if (it == datasets_.end()) it = datasets_.emplace(key, make_dataset(dataset, "dataset")->content_hash()).first;
  return it->second;
}

std::string InputIdentities::file_sha256(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    std::error_code ec;
    it = files_.emplace(path, fs::is_regular_file(path, ec) ? sha256_file(path) : std::string()).first;
  }
  return it->second;
}

std::string corrupt_cell_path(const RunOptions& o, const CellSpec& c) { return cell_path(o, c) + ".corrupt"; }

std::string cell_samples_path(const RunOptions& o, const CellSpec& c) {
  return o.out_dir + "/features/" + c.id + "/samples.h5";
}

namespace {

std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "what changed" for each recorded file whose current bytes differ. A file that is gone is not a change
// the cell can be judged by (a cleared cache is rebuilt, a missing extractor makes the metric skipped).
std::vector<std::string> changed_files(const Json& files, InputIdentities& identities) {
  std::vector<std::string> changed;
  auto check = [&](const std::string& role, const Json& f) {
    if (!f.is_object() || !f.contains("path") || !f.contains("sha256")) return;
    const std::string path = f.at("path").get<std::string>();
    const std::string now = identities.file_sha256(path);
    if (!now.empty() && now != f.at("sha256").get<std::string>()) changed.push_back(role + " " + path + " changed");
  };
  if (files.is_object())
    for (auto it = files.begin(); it != files.end(); ++it) check(it.key(), it.value());
  else if (files.is_array())
    for (const auto& f : files) check("extractor", f);
  return changed;
}

// Metrics the experiment asks for that the file lacks, or whose extractor files changed.
void judge_metrics(const CellSpec& cell, const CellRecord& record, InputIdentities& identities, CellJudgement& j) {
  for (const auto& wanted : cell.metrics) {
    const Json* scored = nullptr;
    for (const auto& s : record.scored)
      if (s.value("config", Json()) == wanted) scored = &s;
    if (!scored) {
      j.metrics_to_score.push_back(wanted);
      j.metric_reasons.push_back("not scored yet");
      continue;
    }
    const auto changed = changed_files(scored->value("files", Json::array()), identities);
    if (!changed.empty()) {
      j.metrics_to_score.push_back(wanted);
      j.metric_reasons.push_back(changed.front());
    }
  }
}

}  // namespace

CellJudgement judge_cell(const RunOptions& options, const CellSpec& cell, InputIdentities& identities) {
  CellJudgement j;
  const std::string path = cell_path(options, cell);
  CellRecord record;
  bool readable = false;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    // Cell files appear by rename, complete: one that does not read was damaged after it was written.
    try {
      record = read_cell(path);
      readable = record.hash == cell.hash;  // another hash under this id: not this cell's file
    } catch (const IoError& e) {
      j.state = CellState::corrupt;
      std::string reason = e.what();  // "<path>: corrupt or unreadable cell file (<HDF5's reason>)"
      if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);
      const std::string wrapper = "corrupt or unreadable cell file (";
      if (reason.rfind(wrapper, 0) == 0 && reason.back() == ')')
        reason = reason.substr(wrapper.size(), reason.size() - wrapper.size() - 1);
      j.reasons.push_back("cell file unreadable: " + reason);
      return j;
    }
  }
  if (!readable) {
    const std::string error_path = cell_error_path(options, cell);
    if (fs::exists(error_path)) {
      j.state = CellState::failed;
      j.error = first_line_of(error_path);
    }
    return j;
  }
  j.state = CellState::done;
  const Json& inputs = record.inputs;
  if (!inputs.contains("dataset")) {
    j.reasons.push_back("the file records no input identities");
  } else {
    const std::string recorded = inputs.at("dataset").value("content_hash", std::string());
    if (recorded != identities.dataset_hash(cell.config.at("dataset")))
      j.reasons.push_back("dataset split content changed");
    for (auto& r : changed_files(inputs.value("files", Json::object()), identities)) j.reasons.push_back(r);
  }
  if (!j.reasons.empty()) {
    j.state = CellState::stale;
    return j;
  }
  const std::string version = record.provenance.value("vdlab_version", std::string("unknown"));
  if (version != vdlab_version()) {
    j.state = CellState::other_version;
    j.reasons.push_back("made by vdlab " + version + " (this is " + vdlab_version() + ")");
  }
  judge_metrics(cell, record, identities, j);
  return j;
}

void move_corrupt_cell_aside(const RunOptions& options, const CellSpec& cell, const CellJudgement& judgement) {
  // Moved rather than deleted: a damaged file may still hold what someone wants to look at, and vdlab
  // deletes no result it did not just write. No reader takes a .corrupt file for a cell file.
  const std::string from = cell_path(options, cell), to = corrupt_cell_path(options, cell);
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) throw IoError(from + ": corrupt (" + judgement.reasons.front() + "), and cannot be moved aside (" + ec.message() + ")");
  log_warn("cell " + cell.id + ": " + from + " is corrupt (" + judgement.reasons.front() + "); moved to " + to +
           ", generating the cell again");
}

std::string describe_judgement(const CellJudgement& j) {
  std::string text;
  switch (j.state) {
    case CellState::missing: return "missing";
    case CellState::failed: return "failed";
    case CellState::corrupt: return "corrupt: " + j.reasons.front();
    case CellState::done: text = "done"; break;
    case CellState::stale: text = "stale"; break;
    case CellState::other_version: text = "done, " + j.reasons.front(); break;
  }
  if (j.state == CellState::stale) {
    text += ":";
    for (std::size_t i = 0; i < j.reasons.size(); ++i) text += (i ? "; " : " ") + j.reasons[i];
  }
  if (!j.metrics_to_score.empty()) {
    text += "; metrics to score:";
    for (std::size_t i = 0; i < j.metrics_to_score.size(); ++i)
      text += (i ? ", " : " ") + j.metrics_to_score[i].value("name", std::string("?")) + " (" + j.metric_reasons[i] + ")";
  }
  return text;
}

}  // namespace vdlab
