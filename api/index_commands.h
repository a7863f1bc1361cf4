// The index commands: `quire index`, `quire search`, `quire docs`, `quire eval beir`.
#pragma once

#include <span>
#include <string>

#include "engine/core/status.h"

namespace quire::api {

Status run_index_command(std::span<const std::string> args);
Status run_search_command(std::span<const std::string> args);
Status run_docs_command(std::span<const std::string> args);
Status run_eval_command(std::span<const std::string> args);

}  // namespace quire::api
