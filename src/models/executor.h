#pragma once
// A bounded queue of jobs run by a fixed set of threads; one per model version, so a slow model
// never holds up the I/O threads or another model.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace seraph {

class Executor {
 public:
  using Job = std::function<void()>;

  Executor(int threads, size_t max_queue);
  ~Executor();  // stop()
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // False when the queue is full or the executor is stopping; the job is then not run.
  bool submit(Job job);
  // Refuses new jobs, runs what is queued, and joins the threads. Idempotent. Must not be called
  // from one of the executor's own threads.
  void stop();
  size_t queued() const;

 private:
  void run();

  const size_t max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace seraph
