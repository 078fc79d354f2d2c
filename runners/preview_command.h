#pragma once
// `vdlab preview '{name: moving-shapes, split: test}'`: a dataset split's first clips as mp4 files and
// one PNG contact sheet, written all together or not at all.
#include <string>
#include <vector>

#include "datasets/video.h"
#include "runners/cli.h"

namespace vdlab {

Command preview_command();

struct PreviewFiles {
  std::vector<std::string> videos;  // <out>/clip_<i>.mp4
  std::string contact_sheet;        // <out>/contact_sheet.png
};

// Writes `clips` (with their row labels) into `out`. Every file is written under a temp name first and
// renamed into place only when all of them are written, so a failure leaves no partial preview.
PreviewFiles write_preview(const std::vector<Clip>& clips, const std::string& out);

}  // namespace vdlab
