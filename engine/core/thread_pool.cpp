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
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::run(size_t n, size_t grain, Invoke invoke, void* ctx) {
  if (n == 0) return;
  const size_t n_chunks = (n + grain - 1) / grain;
  if (n_threads_ == 1 || n_chunks == 1 || tls_running_pool == this) {
    for (size_t begin = 0; begin < n; begin += grain) {
      invoke(ctx, begin, begin + grain < n ? begin + grain : n, 0);
    }
    return;
  }

  std::lock_guard<std::mutex> lock(run_mutex_);
  invoke_ = invoke;
  ctx_ = ctx;
  n_ = n;
  grain_ = grain;
  n_chunks_ = n_chunks;
  next_chunk_.store(0, std::memory_order_relaxed);
  active_workers_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();

  tls_running_pool = this;
  work(0);
  tls_running_pool = nullptr;

  // Barrier: wait for every worker to finish its last chunk.
  for (int spins = 0;; ++spins) {
    int active = active_workers_.load(std::memory_order_acquire);
    if (active == 0) break;
    if (spins < kSpinIterations) {
      cpu_relax();
    } else {
      active_workers_.wait(active, std::memory_order_acquire);
    }
  }
}

void ThreadPool::work(int worker) {
  for (;;) {
    size_t chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (chunk >= n_chunks_) return;
    size_t begin = chunk * grain_;
    size_t end = begin + grain_ < n_ ? begin + grain_ : n_;
    invoke_(ctx_, begin, end, worker);
  }
}

void ThreadPool::worker_loop(int worker) {
  uint32_t seen = 0;
  tls_running_pool = this;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    for (int spins = 0; gen == seen; ++spins) {
      if (spins < kSpinIterations) {
        cpu_relax();
      } else {
        generation_.wait(seen, std::memory_order_acquire);
      }
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    work(worker);
    if (active_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      active_workers_.notify_one();
    }
  }
}

}  // namespace quire
