#include "runners/preview_command.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>
#include <memory>

#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/clip_source.h"
#include "datasets/video_io.h"
#include "runners/command_line.h"
#include "runners/yaml_json.h"

namespace vdlab {

namespace po = boost::program_options;

PreviewFiles write_preview(const std::vector<Clip>& clips, const std::string& out) {
  if (clips.empty()) throw ConfigError("preview: the split has no clips");
  PreviewFiles files;
  std::vector<std::unique_ptr<AtomicFile>> staged;  // removed again by their destructors on an exception
  std::vector<Video> videos;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const std::string file = out + "/clip_" + std::to_string(i) + ".mp4";
    staged.push_back(std::make_unique<AtomicFile>(file, true));
    encode_video(clips[i].video, staged.back()->temp_path());
    files.videos.push_back(file);
    videos.push_back(clips[i].video);
    labels.push_back(std::to_string(i) + (clips[i].label >= 0 ? " (" + std::to_string(clips[i].label) + ")" : ""));
  }
  files.contact_sheet = out + "/contact_sheet.png";
  staged.push_back(std::make_unique<AtomicFile>(files.contact_sheet, true));
  encode_contact_sheet(videos, staged.back()->temp_path(), 16, 2, labels);
  for (auto& f : staged) f->commit();
  return files;
}

namespace {

const char* kUsage = "vdlab preview '{name: DATASET, ...}' [--out DIR] [--clips N]";
const char* kTeach =
    "Writes the first clips of a dataset split as mp4 files and one PNG contact sheet (one row per clip,\n"
    "labelled with its index and class), and prints their captions and labels. Every clip is read before\n"
    "anything is written, and the files appear together or not at all: an unreadable video (see the\n"
    "dataset's on_error) leaves no partial preview.";

int run_preview(const std::vector<std::string>& args) {
  std::string dataset_yaml, out = "preview";
  int clips = 8;
  po::options_description desc("preview options");
  desc.add_options()("dataset", po::value(&dataset_yaml),
                     "a dataset config in YAML flow form, e.g. '{name: moving-shapes, split: test}'")(
      "out,o", po::value(&out)->default_value(out), "output folder")(
      "clips,n", po::value(&clips)->default_value(clips), "clips to show");
  po::positional_options_description pos;
  pos.add("dataset", 1);
  po::variables_map vm;
  const CommandHelp help = command_help(kUsage, kTeach);
  if (const int code = parse_command_line(args, help, desc, pos, vm); code >= 0) return code;
  if (dataset_yaml.empty()) throw ConfigError(see_help(help, "give a dataset config"));
  if (clips < 1) throw ConfigError("--clips: must be at least 1");
  const Json cfg = parse_yaml(dataset_yaml, "dataset");
  ClipSourcePtr source;
  try {
    source = make_dataset(cfg, "dataset");
  } catch (const IoError& e) {
    throw ConfigError(e.what());  // a folder or file named on the command line: bad input
  }
  std::vector<Clip> shown;
  for (std::size_t i = 0; i < std::min<std::size_t>(std::size_t(clips), source->size()); ++i) shown.push_back(source->get(i));
  const PreviewFiles files = write_preview(shown, out);
  for (std::size_t i = 0; i < shown.size(); ++i)
    std::cout << files.videos[i] << "  label " << shown[i].label << "  \"" << shown[i].caption << "\"\n";
  const std::size_t skipped = source->skipped_items().size();
  std::cout << files.contact_sheet << "  (split content hash " << source->content_hash().substr(0, 16) << ")"
            << (skipped ? "; " + std::to_string(skipped) + " unreadable videos skipped" : "") << "\n";
  return 0;
}

}  // namespace

Command preview_command() {
  return {"preview", "write a dataset split's first clips as mp4 and a PNG contact sheet", run_preview};
}

}  // namespace vdlab
