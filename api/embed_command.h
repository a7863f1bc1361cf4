// `quire embed --model M.gguf [--threads N] [--max-tokens N] [--file F | TEXT...]`.
#pragma once

#include <span>
#include <string>

#include "engine/core/status.h"

namespace quire::api {

Status run_embed_command(std::span<const std::string> args);

}  // namespace quire::api
