// The vdlab command line with one more method: `shared_noise_demo run EXPERIMENT.yaml ...` accepts
// `method: shared-noise` in its variants, and everything else vdlab does.
#include "runners/cli.h"
#include "shared_noise.h"

int main(int argc, char** argv) {
  example::register_shared_noise();
  return vdlab::cli_main(argc, argv);
}
