#pragma once
// The vdlab command line: `vdlab COMMAND ...`. Returns the process exit code; errors print one line.
#include <functional>
#include <string>
#include <vector>

namespace vdlab {

int cli_main(int argc, char** argv);
int cli_main(const std::vector<std::string>& args);

// A subcommand: its name, one-line summary, and a handler that receives the arguments after the name.
struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

// Every subcommand, in the order `vdlab --help` lists them.
const std::vector<Command>& commands();

}  // namespace vdlab
