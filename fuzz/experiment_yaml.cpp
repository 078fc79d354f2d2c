// Fuzz target: an experiment file and its overrides through planning (what `vdlab plan` does before
// it prints: no backbone is trained or loaded, no cell runs).
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "fuzz/targets.h"
#include "runners/experiment.h"
#include "runners/yaml_json.h"

namespace vdlab::fuzz {

namespace {

// "YAML\0override\0override...": the experiment text, then one `path=value` per NUL-separated part.
void split_input(const std::uint8_t* data, std::size_t size, std::string& yaml, std::vector<std::string>& overrides) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t end = all.find('\0', start);
    std::string part = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (first) yaml = std::move(part);
    else overrides.push_back(std::move(part));
    first = false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

}  // namespace

void fuzz_experiment_yaml(const std::uint8_t* data, std::size_t size) {
  set_log_level(LogLevel::error);
  std::string yaml;
  std::vector<std::string> overrides;
  split_input(data, size, yaml, overrides);
  try {
    const Experiment e = parse_experiment(parse_yaml(yaml, "fuzz.yaml"), "fuzz.yaml", overrides);
    validate_experiment(e);
    const std::vector<CellSpec> cells = plan_cells(e);
    (void)distinct_backbones(e);

    // What `vdlab status OUT` plans from the saved experiment.json must be the same cells.
    const std::string saved = experiment_to_json(e).dump(2);
    const std::vector<CellSpec> again = plan_cells(experiment_from_json(Json::parse(saved), "experiment.json"));
    if (again.size() != cells.size())
      throw std::logic_error("experiment.json plans " + std::to_string(again.size()) + " cells, the file " +
                             std::to_string(cells.size()));
    for (std::size_t i = 0; i < cells.size(); ++i)
      if (again[i].id != cells[i].id || again[i].hash != cells[i].hash)
        throw std::logic_error("experiment.json plans cell " + std::to_string(i) + " as " + again[i].id + " " +
                               again[i].hash + ", the file as " + cells[i].id + " " + cells[i].hash);
  } catch (const Error&) {
    // A clear error naming the culprit is a correct answer to bad input.
  }
}

}  // namespace vdlab::fuzz
