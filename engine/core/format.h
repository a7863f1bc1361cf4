// Numbers for people: "7,340,032", "3.38 MiB", "5.12M". Used by the CLI, the index's repair
// messages and the benchmarks.
#pragma once

#include <cstdint>
#include <string>

namespace quire {

// "1.50 KiB": binary units, two decimals (bytes below 1 KiB as "512 B").
std::string format_bytes(uint64_t bytes);
// "7.34M": decimal units (parameter counts).
std::string format_count(uint64_t n);
// 7340032 -> "7,340,032"; -1204 -> "-1,204".
std::string format_grouped(int64_t n);
std::string format_grouped(uint64_t n);

}  // namespace quire
