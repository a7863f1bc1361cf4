// OpenBLAS set-up shared by every caller of cblas_* in the engine.
#pragma once

namespace quire::engine {

// Makes OpenBLAS run each call on the calling thread only (idempotent, thread-safe). The engine's
// ThreadPool owns the parallelism: OpenBLAS threads on top of it would oversubscribe the cores.
void use_single_threaded_blas();

}  // namespace quire::engine
