#include "engine/core/thread_pool.h"

#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace quire {
namespace {

// The pool whose task the current thread is running, to detect nested parallel_for.
thread_local const ThreadPool* tls_running_pool = nullptr;

// A few tens of microseconds of polling before a thread sleeps: the next kernel usually follows.
constexpr int kSpinIterations = 1 << 11;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

int default_thread_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

ThreadPool::ThreadPool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : default_thread_count();
  threads_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int w = 1; w < n_threads_; ++w) threads_.emplace_back([this, w] { worker_loop(w); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::run(size_t n, size_t grain, Invoke invoke, void* ctx) {
  if (n == 0) return;
  // Chunk indices live in the low 32 bits of claim_.
  if ((n + grain - 1) / grain >= 0xffffffffu) grain = n / 0xfffffff0u + 1;
  const size_t n_chunks = (n + grain - 1) / grain;
  if (n_threads_ == 1 || n_chunks == 1 || tls_running_pool == this) {
    for (size_t begin = 0; begin < n; begin += grain) {
      invoke(ctx, begin, begin + grain < n ? begin + grain : n, 0);
    }
    return;
  }

  std::lock_guard<std::mutex> lock(run_mutex_);
  // First move claim_ to the new job with no chunk claimable, so that a late worker still
  // holding the previous job's value can no longer claim anything while the descriptor changes.
  const uint64_t job = (claim_.load(std::memory_order_relaxed) >> 32) + 1;
  claim_.exchange(job << 32 | 0xffffffffu);
  invoke_.store(invoke);
  ctx_.store(ctx);
  n_.store(n);
  grain_.store(grain);
  n_chunks_.store(n_chunks);
  done_chunks_.store(0, std::memory_order_relaxed);
  claim_.store(job << 32, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();

  tls_running_pool = this;
  work(0);
  tls_running_pool = nullptr;

  // Barrier: every chunk done (workers that never got one are not waited for).
  for (int spins = 0;; ++spins) {
    const size_t done = done_chunks_.load(std::memory_order_acquire);
    if (done == n_chunks) break;
    if (spins < kSpinIterations) {
      cpu_relax();
    } else {
      done_chunks_.wait(done, std::memory_order_acquire);
    }
  }
}

void ThreadPool::work(int worker) {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    // The descriptor as of job c >> 32; the claim below validates that it is still that job.
    // All sequentially consistent: a descriptor value written for a later job is ordered after
    // run()'s exchange of claim_, so the compare-exchange that follows this read must fail.
    const size_t n_chunks = n_chunks_.load();
    const size_t grain = grain_.load();
    const size_t n = n_.load();
    const Invoke invoke = invoke_.load();
    void* ctx = ctx_.load();
    const size_t chunk = static_cast<size_t>(c & 0xffffffffu);
    if (chunk >= n_chunks) return;
    if (!claim_.compare_exchange_weak(c, c + 1)) {
      continue;  // c now holds the current value: another claim, or a new job
    }
    const size_t begin = chunk * grain;
    const size_t end = begin + grain < n ? begin + grain : n;
    invoke(ctx, begin, end, worker);
    if (done_chunks_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_chunks) {
      done_chunks_.notify_one();
    }
    ++c;
  }
}

void ThreadPool::worker_loop(int worker) {
  uint32_t seen = 0;
  tls_running_pool = this;
  for (;;) {
    uint32_t gen = wake_.load(std::memory_order_acquire);
    for (int spins = 0; gen == seen; ++spins) {
      if (spins < kSpinIterations) {
        cpu_relax();
      } else {
        wake_.wait(seen, std::memory_order_acquire);
      }
      gen = wake_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    work(worker);
  }
}

}  // namespace quire
