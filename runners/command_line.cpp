#include "runners/command_line.h"

#include <algorithm>
#include <iostream>

#include "core/error.h"

namespace vdlab {

namespace po = boost::program_options;

std::string see_help(const CommandHelp& help, const std::string& what) {
  return what + " (see vdlab " + help.command + " --help)";
}

CommandHelp command_help(const std::string& usage, const std::string& teach) {
  const auto first = usage.find(' ');
  const auto second = usage.find(' ', first + 1);
  const std::string command = first == std::string::npos ? usage : usage.substr(first + 1, second - first - 1);
  return {command, "usage: " + usage + (teach.empty() ? "" : "\n\n" + teach)};
}

int parse_command_line(const std::vector<std::string>& args, const CommandHelp& help, po::options_description& desc,
                       const po::positional_options_description& positional, po::variables_map& vm,
                       bool needs_arguments) {
  desc.add_options()("help,h", "show this help");
  // Looked for before parsing, so that help is shown even beside a missing or malformed option.
  const bool asked = std::find(args.begin(), args.end(), "--help") != args.end() ||
                     std::find(args.begin(), args.end(), "-h") != args.end();
  if (asked || (needs_arguments && args.empty())) {
    (asked ? std::cout : std::cerr) << help.text << "\n\n" << desc << "\n";
    return asked ? 0 : 2;
  }
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(see_help(help, e.what()));
  }
  return -1;
}

}  // namespace vdlab
