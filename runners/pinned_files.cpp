#include "runners/pinned_files.h"

#include "core/error.h"
#include "core/file_pin.h"
#include "core/hash.h"
#include "metrics/extractors/extractor_files.h"
#include "metrics/metric.h"

namespace vdlab {

namespace {

void check_file(const std::string& path, const std::string& pin_value, const std::string& where) {
  const std::string pin = parse_sha256_pin(pin_value, where);
  if (pin.empty() || path.empty()) return;
  require_sha256_pin(path, sha256_file(path), pin, where);
}

// A metric config and the metrics nested in it (`frames: {metric: {...}}`).
void check_metric(const Json& m, const std::string& where, const MetricContext& ctx) {
  if (!m.is_object()) return;
  if (m.contains("extractor") && m.at("extractor").is_string() && m.contains("sha256") && m.at("sha256").is_string() &&
      !m.at("sha256").get<std::string>().empty()) {
    const std::string path =
        extractor_file(m.at("extractor").get<std::string>(), m.value("tiny_train", Json::object()), ctx);
    check_file(path, m.at("sha256").get<std::string>(), where + ".sha256");
  }
  if (m.contains("metric")) check_metric(m.at("metric"), where + ".metric", ctx);
}

}  // namespace

void check_pinned_files(const Experiment& e, const RunOptions& options) {
  for (const auto& [backbone, labels] : distinct_backbones(e)) {
    if (backbone.value("name", std::string()) != "torchscript" || !backbone.contains("sha256")) continue;
    const std::string where = backbone == e.backbone ? "backbone" : "backbone of variant " + labels.front();
    check_file(backbone.value("path", std::string()), backbone.at("sha256").get<std::string>(), where + ".sha256");
  }
  const MetricContext ctx = metric_context(options, 0);
  for (std::size_t i = 0; i < e.metrics.size(); ++i) check_metric(e.metrics[i], "metrics[" + std::to_string(i) + "]", ctx);
}

Json hashed_cell_config(Json config) {
  if (config.contains("backbone") && config.at("backbone").is_object()) config["backbone"].erase("sha256");
  return config;
}

}  // namespace vdlab
