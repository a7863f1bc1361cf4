// `quire ask QUESTION`: a cited answer from the index (generative with --llm, else extractive).
#pragma once

#include <span>
#include <string>

#include "engine/core/status.h"

namespace quire::api {

Status run_ask_command(std::span<const std::string> args);

}  // namespace quire::api
