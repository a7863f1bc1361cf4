#include "api/quantize_command.h"

#include <cstdio>
#include <iostream>

#include "api/cli_args.h"
#include "engine/core/format.h"
#include "engine/core/thread_pool.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/model/quantize_model.h"

namespace quire::api {

Status run_quantize_command(std::span<const std::string> args) {
  std::string in_path, out_path, type_name, threads_text;
  std::string schemes;
  for (const auto& s : engine::quant_schemes())
    schemes += (schemes.empty() ? "" : ", ") + std::string(s.name);
  ArgParser parser("quire quantize",
                   "Converts a GGUF model to another quantization with llama.cpp's per-tensor\n"
                   "mixtures (e.g. Q4_K_M keeps output and some attn_v/ffn_down in Q6_K). Norms,\n"
                   "biases and other 1-D tensors stay F32. TYPE: " +
                       schemes + ".");
  parser.add_positional("IN.gguf", &in_path, "source model (F32, F16, BF16 or quantized)");
  parser.add_positional("OUT.gguf", &out_path, "file to write (replaced atomically)");
  parser.add_positional("TYPE", &type_name, "target scheme, e.g. Q4_K_M");
  parser.add_option("threads", &threads_text, "N", "threads (default: all CPUs)");
  QUIRE_RETURN_IF_ERROR(parser.parse(args));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  auto scheme = engine::quant_scheme_from_name(type_name);
  if (!scheme) {
    return invalid_argument_error("unknown TYPE '" + type_name + "', expected one of " + schemes);
  }
  QUIRE_ASSIGN_OR_RETURN(const int threads, parse_threads(threads_text));

  QUIRE_ASSIGN_OR_RETURN(engine::gguf::GgufFile in, engine::gguf::GgufFile::open(in_path));
  ThreadPool pool(threads);
  std::fprintf(stderr, "quantizing '%s' to %s with %d threads\n", in_path.c_str(),
               std::string(scheme->name).c_str(), pool.size());
  auto report = engine::quantize_model(in, out_path, *scheme, pool,
                                       [](const engine::QuantizedTensorReport& t) {
                                         std::fprintf(stderr, "  %s\n", t.name.c_str());
                                       });
  QUIRE_RETURN_IF_ERROR(report.status());

  std::printf("%-32s %-18s %-6s    %-6s %12s\n", "tensor", "shape", "from", "to", "bytes");
  for (const auto& t : report->tensors) {
    std::printf("%-32s %-18s %-6s -> %-6s %12s\n", t.name.c_str(), t.shape.c_str(),
                std::string(engine::ggml_type_name(t.from)).c_str(),
                std::string(engine::ggml_type_name(t.to)).c_str(),
                format_bytes(t.bytes_out).c_str());
  }
  std::printf(
      "\n%s: %s -> %s (%.1f%%) in %.2f s, written to '%s'\n", std::string(scheme->name).c_str(),
      format_bytes(report->bytes_in).c_str(), format_bytes(report->bytes_out).c_str(),
      report->bytes_in > 0
          ? 100.0 * static_cast<double>(report->bytes_out) / static_cast<double>(report->bytes_in)
          : 0.0,
      report->seconds, out_path.c_str());
  return ok_status();
}

}  // namespace quire::api
