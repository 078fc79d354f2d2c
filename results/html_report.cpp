#include "results/html_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <tuple>

namespace vdlab {

namespace {

const char* kStyle = R"(body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.samples td{text-align:center;vertical-align:top}.samples video{width:128px;height:128px;image-rendering:pixelated;background:#000}
.samples td.l{max-width:220px}.plots img{width:640px;margin:4px;border:1px solid #ddd}
.grid img{image-rendering:pixelated;max-width:100%}.note{color:#666;font-size:90%}
#media-status{font-size:90%;color:#555}.wide{overflow-x:auto})";

// Records, on each image and video element, whether it loaded; and the page's script errors.
const char* kMediaCheck = R"(<script>
(function () {
  var errors = 0;
  window.addEventListener('error', function () { errors += 1; update(); });
  var media = Array.prototype.slice.call(document.querySelectorAll('img, video'));
  var status = document.getElementById('media-status');
  var loaded = 0, failed = [];
  function update() {
    var done = loaded + failed.length === media.length;
    status.setAttribute('data-total', media.length);
    status.setAttribute('data-loaded', loaded);
    status.setAttribute('data-failed', failed.length);
    status.setAttribute('data-script-errors', errors);
    status.setAttribute('data-done', done ? '1' : '0');
    status.textContent = 'Media: ' + loaded + ' of ' + media.length + ' loaded' +
        (failed.length ? '; failed: ' + failed.join(', ') : '') + (done ? '.' : ' ...');
  }
  media.forEach(function (m) {
    var settled = false;
    function ok() { if (settled) return; settled = true; loaded += 1; m.setAttribute('data-load', 'ok'); update(); }
    function bad() { if (settled) return; settled = true; failed.push(m.getAttribute('src')); m.setAttribute('data-load', 'error'); update(); }
    if (m.tagName === 'IMG') {
      if (m.complete) { if (m.naturalWidth > 0) ok(); else bad(); }
      else { m.addEventListener('load', ok); m.addEventListener('error', bad); }
    } else {
      if (m.error) bad();
      else if (m.readyState >= 2) ok();
      else { m.addEventListener('loadeddata', ok); m.addEventListener('error', bad); }
    }
  });
  update();
})();
</script>
)";

std::string value_text(const SummaryRow& r) {
  if (r.values.empty()) return "n/a";
  if (r.values.size() < 2) return format_number(r.mean) + " (1 seed)";
  return format_number(r.mean) + " ± " + format_number((r.ci_high - r.ci_low) / 2);
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else if (c == '\'') out += "&#39;";
    else out += c;
  }
  return out;
}

std::string html_report(const HtmlReportInput& in) {
  std::ostringstream h;
  const std::string title = in.title.empty() ? "vdlab sweep" : in.title;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << html_escape(title)
    << "</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>" << kStyle << "</style>\n</head>\n<body>\n<h1>"
    << html_escape(title) << "</h1>\n";
  h << "<p class=\"note\">Mean ± half-width of the " << format_number(in.confidence * 100, 3)
    << " % Student-t confidence interval of the mean over seeds; ↑ higher is better, ↓ lower. A metric key with two "
       "protocols or extractor files is two columns.";
  if (!in.files.empty()) {
    h << " Files:";
    for (std::size_t i = 0; i < in.files.size(); ++i)
      h << (i ? "," : "") << " <a href=\"" << html_escape(in.files[i].second) << "\">" << html_escape(in.files[i].first) << "</a>";
  }
  h << "</p>\n<p id=\"media-status\">Media: checking ...</p>\n";

  // Tables: one per split, a row per variant, a column per (metric key, protocol, extractor file).
  using ColumnId = std::tuple<std::string, std::string, std::string>;
  std::vector<std::pair<std::string, std::string>> splits;
  for (const auto& r : in.summary)
    if (std::find_if(splits.begin(), splits.end(), [&](const auto& s) { return s.first == r.split_hash; }) == splits.end())
      splits.push_back({r.split_hash, r.split});
  std::map<std::string, std::vector<ColumnId>> columns_per_key;
  for (const auto& r : in.summary) {
    auto& cols = columns_per_key[r.metric];
    const ColumnId c{r.metric, r.protocol, r.extractor_sha256};
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  }
  h << "<h2>Tables</h2>\n";
  for (const auto& [split_hash, split] : splits) {
    std::vector<ColumnId> cols;
    std::vector<std::string> labels;
    std::map<std::pair<std::string, ColumnId>, const SummaryRow*> cell;
    std::map<ColumnId, bool> higher;
    for (const auto& r : in.summary) {
      if (r.split_hash != split_hash) continue;
      const ColumnId c{r.metric, r.protocol, r.extractor_sha256};
      if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
      if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
      cell[{r.label, c}] = &r;
      higher[c] = r.higher_is_better;
    }
    h << "<h3>" << html_escape(split) << "</h3>\n<div class=\"wide\"><table class=\"summary\">\n<tr><th class=\"l\">variant</th>";
    for (const auto& c : cols) {
      std::string t = std::get<0>(c);
      std::string detail;
      if (columns_per_key[std::get<0>(c)].size() > 1) {
        if (!std::get<1>(c).empty()) detail += "protocol " + std::get<1>(c);
        if (!std::get<2>(c).empty()) detail += (detail.empty() ? "" : ", ") + std::string("extractor ") + std::get<2>(c).substr(0, 8);
      }
      h << "<th title=\"" << html_escape("protocol: " + std::get<1>(c) + "; extractor sha256: " + std::get<2>(c)) << "\">"
        << html_escape(t) << (detail.empty() ? "" : "<br><span class=\"note\">" + html_escape(detail) + "</span>")
        << (higher[c] ? " ↑" : " ↓") << "</th>";
    }
    h << "</tr>\n";
    for (const auto& l : labels) {
      h << "<tr><td class=\"l\">" << html_escape(l) << "</td>";
      for (const auto& c : cols) {
        const auto it = cell.find({l, c});
        h << "<td>" << (it == cell.end() ? "" : html_escape(value_text(*it->second))) << "</td>";
      }
      h << "</tr>\n";
    }
    h << "</table></div>\n";
  }

  if (!in.plots.empty()) {
    h << "<h2>Plots</h2>\n<p class=\"note\">Mean over seeds, error bars the " << format_number(in.confidence * 100, 3)
      << " % confidence interval; each image links to its PDF.</p>\n<div class=\"plots\">\n";
    for (const auto& p : in.plots)
      h << "<a href=\"" << html_escape(p.pdf) << "\"><img src=\"" << html_escape(p.png) << "\" alt=\"" << html_escape(p.title)
        << "\" title=\"" << html_escape(p.title) << "\"></a>\n";
    h << "</div>\n";
  }

  if (!in.samples.empty()) {
    h << "<h2>Samples</h2>\n<p class=\"note\">One row per split, seed and sample: every variant's video of that sample, "
         "generated for the same caption from the same seed.</p>\n";
    std::string current_split;
    bool open = false;
    for (const auto& row : in.samples) {
      if (!open || row.split != current_split) {
        if (open) h << "</table>\n";
        current_split = row.split;
        open = true;
        h << "<h3>" << html_escape(row.split) << "</h3>\n<table class=\"samples\">\n<tr><th class=\"l\">seed, sample, caption</th>";
        for (const auto& v : in.variants) h << "<th>" << html_escape(v) << "</th>";
        h << "</tr>\n";
      }
      h << "<tr><td class=\"l\">seed " << row.seed << ", #" << row.index;
      if (!row.caption.empty()) h << "<br><i>" << html_escape(row.caption) << "</i>";
      h << "</td>";
      for (const auto& v : in.variants) {
        std::string file;
        for (const auto& kv : row.videos)
          if (kv.first == v) file = kv.second;
        if (file.empty()) h << "<td></td>";
        else
          h << "<td><video src=\"" << html_escape(file) << "\" title=\"" << html_escape(v + ", seed " + std::to_string(row.seed))
            << "\" autoplay loop muted playsinline preload=\"auto\"></video></td>";
      }
      h << "</tr>\n";
    }
    if (open) h << "</table>\n";
  }
  if (!in.grid_png.empty())
    h << "<h2>Frames</h2>\n<p class=\"note\">Every frame of the first sample of each variant, a label on each row.</p>\n"
      << "<div class=\"grid\"><img src=\"" << html_escape(in.grid_png) << "\" alt=\"sample frames\"></div>\n";
  if (!in.notes.empty()) {
    h << "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : in.notes) h << "<li>" << html_escape(n) << "</li>\n";
    h << "</ul>\n";
  }
  h << "<h2>Provenance</h2>\n<pre>" << html_escape(in.provenance.dump(2)) << "</pre>\n" << kMediaCheck << "</body>\n</html>\n";
  return h.str();
}

}  // namespace vdlab
