// The `quire` command line: dispatches to the subcommands of api/commands.h.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "api/commands.h"
#include "engine/core/status.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    std::cout << quire::api::usage_text();
    return args.empty() ? quire::exit_code(quire::StatusCode::kInvalidArgument) : 0;
  }
  const std::string name = args[0] == "--version" ? "version" : args[0];
  std::span<const std::string> rest(args.data() + 1, args.size() - 1);
  const quire::api::Command* command = quire::api::find_command(name);
  const quire::Status status =
      command != nullptr ? command->run(rest)
                         : quire::invalid_argument_error("unknown command '" + name +
                                                         "' (run 'quire help' for the list)");
  if (!status.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "quire: error: %s\n", status.message().c_str());
    return quire::exit_code(status.code());
  }
  return 0;
}
