// `quire quantize IN.gguf OUT.gguf TYPE [--threads N]`.
#pragma once

#include <span>
#include <string>

#include "engine/core/status.h"

namespace quire::api {

Status run_quantize_command(std::span<const std::string> args);

}  // namespace quire::api
