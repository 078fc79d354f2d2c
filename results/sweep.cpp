#include "results/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/hdf5_util.h"

namespace vdlab {

namespace {

constexpr const char* kSweepFormat = "vdlab-sweep/1";

std::string split_display(const Json& dataset) {
  std::string s = dataset.value("name", std::string("dataset"));
  if (dataset.contains("split") && dataset["split"].is_string()) s += ":" + dataset["split"].get<std::string>();
  return s;
}

void flatten_into(const Json& j, const std::string& path, std::vector<std::pair<std::string, Json>>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten_into(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  } else if (j.is_array()) {
    out.emplace_back(path, j.dump());
  } else {
    out.emplace_back(path, j);
  }
}

std::string protocol_name(const Json& protocol) {
  if (!protocol.is_object()) return "";
  std::string out;
  for (const char* field : {"protocol", "estimator"})
    if (protocol.contains(field) && protocol.at(field).is_string())
      out += (out.empty() ? "" : ",") + protocol.at(field).get<std::string>();
  return out;
}

std::string extractor_sha(const Json& protocol) {
  if (protocol.is_object() && protocol.contains("extractor") && protocol["extractor"].is_object())
    return protocol["extractor"].value("sha256", std::string());
  return "";
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / double(v.size());
}

// A parameter column is numeric when every cell that has it holds a number; booleans are text.
bool numeric_column(const Sweep& sweep, const std::string& path) {
  bool any = false;
  for (const auto& c : sweep.cells)
    if (const Json* v = c.param(path)) {
      if (!v->is_number()) return false;
      any = true;
    }
  return any;
}

std::string param_text(const Json* v) {
  if (!v || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_float()) return format_number(v->get<double>(), 17);
  return v->dump();
}

// ---- HDF5 columns ----

void write_int64s(H5::Group& g, const std::string& name, const std::vector<std::int64_t>& values) {
  const hsize_t n = values.size();
  H5::DataSet d = g.createDataSet(name, H5::PredType::NATIVE_INT64, H5::DataSpace(1, &n));
  if (n) d.write(values.data(), H5::PredType::NATIVE_INT64);
}

std::vector<std::int64_t> read_int64s(const H5::Group& g, const std::string& name) {
  H5::DataSet d = g.openDataSet(name);
  const hsize_t n = h5::checked_extent(d, 1, sizeof(std::int64_t))[0];
  std::vector<std::int64_t> out(n);
  if (n) d.read(out.data(), H5::PredType::NATIVE_INT64);
  return out;
}

}  // namespace

const Json* SweepCell::param(const std::string& path) const {
  for (const auto& p : params)
    if (p.first == path) return &p.second;
  return nullptr;
}

std::vector<std::string> Sweep::param_columns() const {
  std::set<std::string> all;
  for (const auto& c : cells)
    for (const auto& p : c.params) all.insert(p.first);
  return {all.begin(), all.end()};
}

std::vector<std::string> Sweep::swept_params() const {
  std::vector<std::string> out;
  for (const auto& path : param_columns()) {
    std::set<std::string> seen;
    for (const auto& c : cells) {
      const Json* v = c.param(path);
      seen.insert(v ? v->dump() : std::string("<absent>"));
    }
    if (seen.size() > 1) out.push_back(path);
  }
  return out;
}

std::vector<std::string> Sweep::labels() const {
  std::vector<std::string> out;
  for (const auto& c : cells)
    if (std::find(out.begin(), out.end(), c.label) == out.end()) out.push_back(c.label);
  return out;
}

const std::vector<std::string>& sweep_table_columns() {
  static const std::vector<std::string> columns = {
      "id",       "label",    "split",    "split_hash",       "seed",           "hash",
      "metric",   "protocol", "extractor_sha256", "value",    "higher_is_better", "n_samples",
      "derived_from"};
  return columns;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string format_number(double v, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

std::vector<std::pair<std::string, Json>> flatten_config(const Json& config) {
  std::vector<std::pair<std::string, Json>> out;
  Json copy = config;
  if (copy.is_object()) copy.erase("seed");
  flatten_into(copy, "", out);
  return out;
}

Sweep sweep_from_cells(const std::vector<LabelledCell>& cells) {
  Sweep sweep;
  // Split display names: two dataset configs with the same name and split are told apart by hash.
  std::map<std::string, std::set<std::string>> hashes_per_display;
  for (const auto& c : cells)
    if (c.record.config.contains("dataset"))
      hashes_per_display[split_display(c.record.config.at("dataset"))].insert(config_hash(c.record.config.at("dataset")));
  for (const auto& c : cells) {
    const CellRecord& r = c.record;
    SweepCell cell;
    cell.id = r.id;
    cell.label = c.label;
    cell.hash = r.hash;
    cell.seed = r.config.value("seed", std::uint64_t(0));
    if (r.config.contains("dataset")) {
      const Json& d = r.config.at("dataset");
      cell.split_hash = config_hash(d);
      cell.split = split_display(d);
      if (hashes_per_display[cell.split].size() > 1) cell.split += "#" + cell.split_hash.substr(0, 8);
    }
    cell.params = flatten_config(r.config);
    const std::size_t index = sweep.cells.size();
    sweep.cells.push_back(std::move(cell));
    for (const auto& m : r.metrics) {
      if (m.skipped) {
        sweep.skipped.push_back(r.id + ": " + m.key + ": " + m.skip_reason);
        continue;
      }
      SweepValue v;
      v.cell = index;
      v.metric = m.key;
      v.protocol = protocol_name(m.protocol);
      v.extractor_sha256 = extractor_sha(m.protocol);
      v.value = m.value;
      v.higher_is_better = m.higher_is_better;
      v.per_sample = m.per_sample;
      sweep.values.push_back(std::move(v));
    }
  }
  return sweep;
}

std::string relative_metric_key(const std::string& key, const std::string& baseline_label) {
  const std::string part = "vs-" + baseline_label;
  if (key == "flow_motion") return "motion_dynamics[" + part + "]";
  if (!key.empty() && key.back() == ']') return key.substr(0, key.size() - 1) + ",rel-" + part + "]";
  return key + "[rel-" + part + "]";
}

std::size_t add_relative_metrics(Sweep& sweep, const std::string& baseline_label) {
  const auto labels = sweep.labels();
  if (std::find(labels.begin(), labels.end(), baseline_label) == labels.end()) {
    std::string list;
    for (const auto& l : labels) list += (list.empty() ? "" : ", ") + l;
    throw ConfigError("--relative-to " + baseline_label + ": no variant of that label in the sweep (labels: " + list + ")");
  }
  // The baseline's values by (split, seed, metric key, extractor file).
  using Key = std::tuple<std::string, std::uint64_t, std::string, std::string>;
  std::map<Key, const SweepValue*> baseline;
  for (const auto& v : sweep.values) {
    const SweepCell& c = sweep.cells[v.cell];
    if (c.label == baseline_label && v.derived_from.empty() && !v.per_sample.empty())
      baseline[{c.split_hash, c.seed, v.metric, v.extractor_sha256}] = &v;
  }
  std::vector<SweepValue> added;
  for (const auto& v : sweep.values) {
    if (!v.derived_from.empty() || v.per_sample.empty()) continue;
    const SweepCell& c = sweep.cells[v.cell];
    const auto b = baseline.find({c.split_hash, c.seed, v.metric, v.extractor_sha256});
    if (b == baseline.end()) continue;
    const double base = mean_of(b->second->per_sample);
    if (!(std::abs(base) > 0)) {
      sweep.skipped.push_back(c.id + ": " + relative_metric_key(v.metric, baseline_label) +
                              ": the baseline's mean is 0, a relative change is undefined");
      continue;
    }
    SweepValue r;
    r.cell = v.cell;
    r.metric = relative_metric_key(v.metric, baseline_label);
    r.protocol = v.protocol;
    r.extractor_sha256 = v.extractor_sha256;
    r.value = (mean_of(v.per_sample) - base) / base;
    r.higher_is_better = v.higher_is_better;
    r.derived_from = v.metric + " of " + c.id + " and of " + sweep.cells[b->second->cell].id;
    added.push_back(std::move(r));
  }
  const std::size_t n = added.size();
  for (auto& a : added) sweep.values.push_back(std::move(a));
  return n;
}

std::string sweep_csv(const Sweep& sweep) {
  const auto params = sweep.param_columns();
  std::ostringstream out;
  bool first = true;
  for (const auto& c : sweep_table_columns()) out << (first ? "" : ",") << c, first = false;
  for (const auto& p : params) out << "," << csv_escape(p);
  out << "\n";
  for (const auto& v : sweep.values) {
    const SweepCell& c = sweep.cells[v.cell];
    out << csv_escape(c.id) << "," << csv_escape(c.label) << "," << csv_escape(c.split) << "," << c.split_hash << ","
        << c.seed << "," << c.hash << "," << csv_escape(v.metric) << "," << csv_escape(v.protocol) << ","
        << v.extractor_sha256 << "," << format_number(v.value, 17) << "," << (v.higher_is_better ? 1 : 0) << ","
        << v.per_sample.size() << "," << csv_escape(v.derived_from);
    for (const auto& p : params) out << "," << csv_escape(param_text(c.param(p)));
    out << "\n";
  }
  return out.str();
}

void write_sweep_h5(const Sweep& sweep, const std::string& path) {
  h5::quiet();
  AtomicFile out(path);
  try {
    H5::H5File file(out.temp_path(), H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    h5::write_string_attr(root, "format", kSweepFormat);
    h5::write_string_attr(root, "provenance", sweep.provenance.dump());
    H5::Group table = file.createGroup("table");
    const auto params = sweep.param_columns();
    Json columns = Json::array();
    std::vector<std::string> text[9];  // id label split split_hash hash metric protocol extractor derived
    std::vector<std::int64_t> seed, higher, n_samples, offset;
    std::vector<double> value, all_samples;
    for (const auto& v : sweep.values) {
      const SweepCell& c = sweep.cells[v.cell];
      const std::string fields[9] = {c.id,     c.label,      c.split, c.split_hash, c.hash, v.metric,
                                     v.protocol, v.extractor_sha256, v.derived_from};
      for (int i = 0; i < 9; ++i) text[i].push_back(fields[i]);
      seed.push_back(std::int64_t(c.seed));
      higher.push_back(v.higher_is_better ? 1 : 0);
      n_samples.push_back(std::int64_t(v.per_sample.size()));
      offset.push_back(std::int64_t(all_samples.size()));
      value.push_back(v.value);
      all_samples.insert(all_samples.end(), v.per_sample.begin(), v.per_sample.end());
    }
    const char* text_names[9] = {"id", "label", "split", "split_hash", "hash", "metric", "protocol", "extractor_sha256",
                                 "derived_from"};
    for (const auto& name : sweep_table_columns()) {
      columns.push_back(name);
      const auto t = std::find_if(std::begin(text_names), std::end(text_names), [&](const char* n) { return name == n; });
      if (t != std::end(text_names)) h5::write_strings(table, name, text[t - std::begin(text_names)]);
      else if (name == "seed") write_int64s(table, name, seed);
      else if (name == "value") h5::write_doubles(table, name, value);
      else if (name == "higher_is_better") write_int64s(table, name, higher);
      else if (name == "n_samples") write_int64s(table, name, n_samples);
    }
    columns.push_back("per_sample_offset");
    write_int64s(table, "per_sample_offset", offset);
    for (const auto& p : params) {
      columns.push_back(p);
      if (numeric_column(sweep, p)) {
        std::vector<double> col;
        for (const auto& v : sweep.values) {
          const Json* x = sweep.cells[v.cell].param(p);
          col.push_back(x ? x->get<double>() : NAN);
        }
        h5::write_doubles(table, h5::link_name(p), col);
      } else {
        std::vector<std::string> col;
        for (const auto& v : sweep.values) col.push_back(param_text(sweep.cells[v.cell].param(p)));
        h5::write_strings(table, h5::link_name(p), col);
      }
    }
    h5::write_string_attr(table, "columns", columns.dump());
    H5::Group samples = file.createGroup("per_sample");
    h5::write_doubles(samples, "values", all_samples);
    file.close();
  } catch (const H5::Exception& e) {
    throw IoError(path + ": cannot write sweep file (" + h5::describe(e) + ")");
  }
  out.commit();
}

Sweep read_sweep_h5(const std::string& path) {
  h5::quiet();
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such sweep file");
  Sweep sweep;
  try {
    H5::H5File file(path, H5F_ACC_RDONLY);
    H5::Group root = file.openGroup("/");
    if (!h5::has_attr(root, "format") || h5::read_string_attr(root, "format") != kSweepFormat)
      throw IoError(path + ": not a vdlab sweep file (format " + std::string(kSweepFormat) + ")");
    sweep.provenance = Json::parse(h5::read_string_attr(root, "provenance"));
    H5::Group table = file.openGroup("table");
    const Json columns = Json::parse(h5::read_string_attr(table, "columns"));
    auto strings = [&](const char* name) { return h5::read_strings(table, name); };
    const auto id = strings("id"), label = strings("label"), split = strings("split"),
               split_hash = strings("split_hash"), hash = strings("hash"), metric = strings("metric"),
               protocol = strings("protocol"), extractor = strings("extractor_sha256"), derived = strings("derived_from");
    const auto seed = read_int64s(table, "seed"), higher = read_int64s(table, "higher_is_better"),
               n_samples = read_int64s(table, "n_samples"), offset = read_int64s(table, "per_sample_offset");
    const auto value = h5::read_doubles(table, "value");
    const auto all_samples = h5::read_doubles(file.openGroup("per_sample"), "values");
    const std::size_t rows = id.size();
    for (const auto* col : {&label, &split, &split_hash, &hash, &metric, &protocol, &extractor, &derived})
      if (col->size() != rows) throw IoError(path + ": /table columns of different lengths");
    if (seed.size() != rows || higher.size() != rows || n_samples.size() != rows || offset.size() != rows ||
        value.size() != rows)
      throw IoError(path + ": /table columns of different lengths");

    // Parameter columns: every listed column past the fixed ones.
    std::vector<std::pair<std::string, std::vector<Json>>> params;
    const auto& fixed = sweep_table_columns();
    for (const auto& c : columns) {
      const std::string name = c.get<std::string>();
      if (name == "per_sample_offset" || std::find(fixed.begin(), fixed.end(), name) != fixed.end()) continue;
      H5::DataSet d = table.openDataSet(h5::link_name(name));
      std::vector<Json> col;
      if (d.getTypeClass() == H5T_STRING) {
        for (auto& s : h5::read_strings(table, h5::link_name(name))) col.push_back(s.empty() ? Json() : Json(s));
      } else {
        for (double x : h5::read_doubles(table, h5::link_name(name))) col.push_back(std::isnan(x) ? Json() : Json(x));
      }
      params.emplace_back(name, std::move(col));
    }

    std::map<std::pair<std::string, std::string>, std::size_t> cell_of;  // (id, label) -> cell index
    for (std::size_t r = 0; r < rows; ++r) {
      const auto key = std::make_pair(id[r], label[r]);
      auto it = cell_of.find(key);
      if (it == cell_of.end()) {
        SweepCell c;
        c.id = id[r];
        c.label = label[r];
        c.split = split[r];
        c.split_hash = split_hash[r];
        c.hash = hash[r];
        c.seed = std::uint64_t(seed[r]);
        for (const auto& [name, col] : params)
          if (!col[r].is_null()) c.params.emplace_back(name, col[r]);
        it = cell_of.emplace(key, sweep.cells.size()).first;
        sweep.cells.push_back(std::move(c));
      }
      SweepValue v;
      v.cell = it->second;
      v.metric = metric[r];
      v.protocol = protocol[r];
      v.extractor_sha256 = extractor[r];
      v.value = value[r];
      v.higher_is_better = higher[r] != 0;
      v.derived_from = derived[r];
      if (offset[r] < 0 || n_samples[r] < 0 || std::size_t(offset[r] + n_samples[r]) > all_samples.size())
        throw IoError(path + ": row " + std::to_string(r) + " points past /per_sample/values");
      v.per_sample.assign(all_samples.begin() + offset[r], all_samples.begin() + offset[r] + n_samples[r]);
      sweep.values.push_back(std::move(v));
    }
  } catch (const H5::Exception& e) {
    throw IoError(path + ": corrupt or unreadable sweep file (" + h5::describe(e) + ")");
  } catch (const Json::exception& e) {
    throw IoError(path + ": corrupt JSON attribute in sweep file (" + std::string(e.what()) + ")");
  }
  return sweep;
}

}  // namespace vdlab
