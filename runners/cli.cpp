#include "runners/cli.h"

#include <iostream>

#include "core/error.h"
#include "core/suggest.h"

namespace vdlab {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {};
  return list;
}

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return cli_main(args);
}

int cli_main(const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (const auto& c : commands()) names.push_back(c.name);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: vdlab COMMAND [options]\n";
    return args.empty() ? 2 : 0;
  }
  for (const auto& c : commands())
    if (c.name == args[0]) {
      try {
        return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
      } catch (const std::exception& e) {
        std::cerr << "vdlab " << c.name << ": error: " << e.what() << "\n";
        return 1;
      }
    }
  std::cerr << "vdlab: unknown command '" << args[0] << "'" << suggestion_suffix(args[0], names) << "\n";
  return 2;
}

}  // namespace vdlab
