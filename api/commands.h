// The table of `quire` subcommands: name, usage line and entry point. main.cpp dispatches
// through it and prints the help from it; adding a command is one row here.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace quire::api {

struct Command {
  std::string_view name;   // "index"
  std::string_view usage;  // "index PATH..."
  std::string_view summary;
  Status (*run)(std::span<const std::string> args);  // args after the command name
};

std::span<const Command> commands();
const Command* find_command(std::string_view name);  // nullptr when unknown

// The `quire help` text: usage, the commands of the table, the environment variables.
std::string usage_text();

}  // namespace quire::api
