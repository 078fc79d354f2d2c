#pragma once
// `vdlab metrics --real SRC --fake SRC --metrics fvd,fid,...`: scores two sets of videos without an
// experiment file (DESIGN.md, CLI).
#include "runners/cli.h"

namespace vdlab {

Command metrics_command();

}  // namespace vdlab
