#pragma once
// How every subcommand reads its arguments, so that they all behave alike: `--help` (or -h) prints the
// help on stdout and exits 0, whatever else is on the line; a command that needs arguments and got none
// prints the same help on stderr and exits 2; a malformed line is one ConfigError that points to the
// command's --help.
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace vdlab {

struct CommandHelp {
  std::string command;  // "collect": errors point to `vdlab collect --help`
  std::string text;     // what --help prints above the options: "usage: vdlab collect DIR ...", then prose
};

// From a usage line ("vdlab plan EXPERIMENT.yaml ...": the command is its second word) and the prose
// under it.
CommandHelp command_help(const std::string& usage, const std::string& teach);

// Adds --help to `desc`, parses `args` into `vm` (stored and notified). Returns -1 to go on, otherwise the
// exit code to return at once.
int parse_command_line(const std::vector<std::string>& args, const CommandHelp& help,
                       boost::program_options::options_description& desc,
                       const boost::program_options::positional_options_description& positional,
                       boost::program_options::variables_map& vm, bool needs_arguments = true);

// The ConfigError text for a missing or bad argument: "<what> (see vdlab <command> --help)".
std::string see_help(const CommandHelp& help, const std::string& what);

}  // namespace vdlab
