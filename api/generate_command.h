// `quire generate`: text generation with a decoder model, streamed to stdout.
#pragma once

#include <span>
#include <string>

#include "engine/core/status.h"

namespace quire::api {

Status run_generate_command(std::span<const std::string> args);

}  // namespace quire::api
