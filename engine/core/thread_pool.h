// A fixed-size thread pool for data-parallel kernels.
//
// ThreadPool(n) starts n-1 worker threads; the calling thread is the n-th participant. One
// parallel_for runs at a time (calls from several threads are serialized) and returns only when
// every chunk is done (a barrier). Dispatch allocates nothing: the callable is passed by pointer
// through a function-pointer trampoline, so kernels can call it per matrix product.
//
// Idle workers spin briefly (a kernel launch usually follows another within microseconds) and
// then sleep on an atomic wait. A parallel_for called from inside a task of the same pool runs
// serially on the calling thread instead of deadlocking. The callable must not throw.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace quire {

// Threads to use by default: the CPUs this process may run on (sched_getaffinity), at least 1.
int default_thread_count();

class ThreadPool {
 public:
  // n_threads <= 0 means default_thread_count().
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Participants in a parallel_for, the caller included.
  int size() const { return n_threads_; }

  // Calls fn(begin, end, worker) for consecutive chunks [begin, end) of [0, n), each `grain`
  // long (the last may be shorter), claimed dynamically by the participants; `worker` in
  // [0, size()) identifies the participant (for per-thread scratch). n == 0 returns at once.
  template <typename F>
  void parallel_for(size_t n, size_t grain, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(
        n, grain == 0 ? 1 : grain,
        [](void* ctx, size_t begin, size_t end, int worker) {
          (*static_cast<Fn*>(ctx))(begin, end, worker);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Static split: [0, n) in size() contiguous near-equal chunks.
  template <typename F>
  void parallel_for(size_t n, F&& fn) {
    const size_t parts = static_cast<size_t>(n_threads_);
    parallel_for(n, (n + parts - 1) / parts, std::forward<F>(fn));
  }

 private:
  using Invoke = void (*)(void* ctx, size_t begin, size_t end, int worker);

  void run(size_t n, size_t grain, Invoke invoke, void* ctx);
  void work(int worker);  // claims and runs chunks of the current job
  void worker_loop(int worker);

  int n_threads_ = 1;
  std::vector<std::thread> threads_;
  std::mutex run_mutex_;

  // The current job. run() first stores claim_ = (job << 32 | 0xffffffff) (nothing claimable, and
  // a stale claim of the previous job fails), writes the descriptor, resets done_chunks_, then
  // publishes the job
  // by storing claim_ = (job << 32 | 0) (release) and bumping wake_ for sleeping workers. A
  // participant claims chunk c of job j with a compare-exchange of claim_ from (j, c) to
  // (j, c + 1), so a worker that wakes late can never claim a chunk of a job it did not read
  // (its exchange fails and it re-reads). run() returns once done_chunks_ reaches the job's
  // chunk count: it waits for the work, not for every worker to notice the job, which matters on
  // a busy machine where a worker may not be scheduled for milliseconds.
  std::atomic<Invoke> invoke_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<size_t> n_{0};
  std::atomic<size_t> grain_{1};
  std::atomic<size_t> n_chunks_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<size_t> done_chunks_{0};
  std::atomic<uint32_t> wake_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace quire
