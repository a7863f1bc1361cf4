// `quire models ...`: inspect GGUF model files.
#pragma once

#include <span>
#include <string>

#include <nlohmann/json.hpp>
#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/runtime/model_info.h"

namespace quire::api {

// Runs `quire models <args>`; writes results to stdout. Returns the status for the exit code.
Status run_models_command(std::span<const std::string> args);

// The JSON object of `models inspect --json`: summary keys named as in GGUF (block_count,
// embedding_length, context_length, head_count, head_count_kv, ...), `tensor_types`, `memory`,
// and the full file description: every scalar metadata value with its type, array types and
// lengths, and the tensor table (name, type, ne, n_bytes, data_offset absolute in the file).
nlohmann::ordered_json inspect_json(const engine::gguf::GgufFile& file,
                                    const engine::ModelInfo& info,
                                    const Result<engine::MemoryEstimate>& memory);

// The human-readable report of `models inspect`.
std::string inspect_text(const engine::gguf::GgufFile& file, const engine::ModelInfo& info,
                         const Result<engine::MemoryEstimate>& memory);

}  // namespace quire::api
