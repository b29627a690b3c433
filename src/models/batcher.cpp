#include "models/batcher.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace seraph {
namespace {

int64_t rows_of(const InferRequest& request) {
  return request.inputs.empty() || request.inputs[0].shape.empty() ? 1 : request.inputs[0].shape[0];
}

// Requests merge when every input has the same shape beyond the batch dimension.
bool same_row_shape(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape.size() != b[i].shape.size()) return false;
    if (!std::equal(a[i].shape.begin() + 1, a[i].shape.end(), b[i].shape.begin() + 1)) return false;
  }
  return true;
}

Status deadline_exceeded() { return {StatusCode::kDeadlineExceeded, "deadline exceeded while queued; the request was not run"}; }

}  // namespace

Batcher::Batcher(Runtime& runtime, BatchingPolicy policy, ModelMetrics& metrics)
    : runtime_(runtime), policy_(policy), metrics_(metrics), running_(std::max(policy.instances, 1)) {
  threads_.reserve(policy_.instances);
  for (int i = 0; i < policy_.instances; ++i) threads_.emplace_back([this] { run(); });
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  arrived_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Batcher::submit(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) {
  const int64_t rows = rows_of(*request);
  bool stopping = false;
  {
    std::lock_guard lock(mutex_);
    stopping = stopping_;
    if (!stopping_ && queue_.size() < policy_.max_queue_size) {
      queue_.push_back({std::move(request), std::move(done), Clock::now(), deadline, rows});
      metrics_.queue_depth().set(static_cast<double>(queue_.size()));
      arrived_.notify_one();
      return;
    }
  }
  done({StatusCode::kUnavailable, stopping ? "the model version is unloading" : "overloaded: the model's queue is full"},
       {}, 0);
}

std::vector<Batcher::Pending> Batcher::take_batch(std::unique_lock<std::mutex>& lock, std::vector<Pending>& expired) {
  arrived_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  const bool merging = policy_.max_batch_size > 1;
  std::vector<Pending> batch;
  int64_t rows = 0;
  TimePoint gather_until{};
  for (;;) {
    // Take what fits, in arrival order; requests of another row shape stay queued for the next
    // batch, and expired ones are set aside to be answered 504.
    const TimePoint now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        expired.push_back(std::move(*it));
        it = queue_.erase(it);
        continue;
      }
      const bool fits = batch.empty() || (merging && rows + it->rows <= policy_.max_batch_size &&
                                          same_row_shape(batch.front().request->inputs, it->request->inputs));
      if (!fits) {
        ++it;
        continue;
      }
      if (batch.empty()) gather_until = it->enqueued + policy_.max_queue_delay;
      rows += it->rows;
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
      if (!merging) break;
    }
    metrics_.queue_depth().set(static_cast<double>(queue_.size()));
    if (batch.empty()) {
      if (!expired.empty() || stopping_) return batch;  // answer the expired, or let the thread end
      arrived_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      continue;
    }
    if (!merging || rows >= policy_.max_batch_size || stopping_ || Clock::now() >= gather_until) return batch;
    // Wait for company until the first request's delay runs out; any arrival means a new look.
    arrived_.wait_until(lock, gather_until);
  }
}

void Batcher::run() {
  std::vector<Pending> expired;
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      batch = take_batch(lock, expired);
      if (batch.empty() && expired.empty() && stopping_ && queue_.empty()) return;
    }
    for (Pending& p : expired) p.done(deadline_exceeded(), {}, 0);
    expired.clear();
    if (!batch.empty()) execute(batch);
  }
}

// Runs the runtime; the caller holds one of running_'s slots, which this releases.
Status Batcher::run_runtime(std::span<const Tensor> inputs, int64_t rows, size_t requests,
                            std::vector<Tensor>& outputs, double& compute_ms) {
  const TimePoint start = Clock::now();
  Status status;
  try {
    status = runtime_.execute(inputs, outputs);
  } catch (const std::exception& e) {  // a runtime's stray exception must not end the process
    status = internal_error(std::string("the runtime failed: ") + e.what());
  }
  running_.release();
  compute_ms = elapsed_ms(start);
  metrics_.record_execution(static_cast<double>(rows), static_cast<double>(requests), compute_ms / 1000.0);
  // A running mean over roughly this thread's last 16 calls, published for all when it has moved
  // by an eighth: what `execution: auto` decides on. Each thread's own mean keeps the shared one
  // from being written by every call, and the execution threads' calls still move it (an I/O thread
  // that stopped running the model inline would otherwise never see it turn cheap again).
  std::atomic<double>& own = recent_compute_[metric_shard()].us;
  const double previous = own.load(std::memory_order_relaxed);
  const double mean = previous == 0 ? compute_ms * 1000 : previous + (compute_ms * 1000 - previous) / 16;
  own.store(mean, std::memory_order_relaxed);
  const double shared = recent_compute_us_.load(std::memory_order_relaxed);
  if (shared == 0 || std::abs(mean - shared) > shared / 8) recent_compute_us_.store(mean, std::memory_order_relaxed);
  return status;
}

bool Batcher::try_run_inline(const InferRequest& request, Done& done, std::chrono::nanoseconds wait) {
  if (!running_.try_acquire()) {
    const TimePoint give_up = Clock::now() + wait;
    do {
      if (Clock::now() >= give_up) return false;
      spin_pause();
    } while (!running_.try_acquire());
  }
  metrics_.record_queue_time(Clock::duration::zero());
  std::vector<Tensor> outputs;
  double compute_ms = 0;
  Status status = run_runtime(request.inputs, rows_of(request), 1, outputs, compute_ms);
  if (status.is_ok()) {
    // Nothing to merge or split inline: the runtime call is the whole execution.
    const auto infer = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(compute_ms));
    metrics_.record_execution_phases(static_cast<uint64_t>(rows_of(request)), 1, Clock::duration::zero(), infer,
                                     Clock::duration::zero());
  } else {
    outputs.clear();
  }
  done(std::move(status), std::move(outputs), compute_ms);
  return true;
}

void Batcher::execute(std::vector<Pending>& batch) {
  const TimePoint start = Clock::now();
  for (const Pending& p : batch) metrics_.record_queue_time(start - p.enqueued);
  int64_t total_rows = 0;
  for (const Pending& p : batch) total_rows += p.rows;

  // One request runs on its own tensors; several are concatenated along dimension 0.
  std::vector<Tensor> merged;
  const std::vector<Tensor>* inputs = &batch.front().request->inputs;
  if (batch.size() > 1) {
    merged.reserve(inputs->size());
    for (size_t i = 0; i < inputs->size(); ++i) {
      const Tensor& first = (*inputs)[i];
      Tensor t{first.name, first.datatype, first.shape, {}, {}};
      t.shape[0] = total_rows;
      for (const Pending& p : batch) {
        const Tensor& part = p.request->inputs[i];
        if (part.datatype == DataType::kBytes) {
          t.strings.insert(t.strings.end(), part.strings.begin(), part.strings.end());
        } else {
          t.bytes.insert(t.bytes.end(), part.bytes.begin(), part.bytes.end());
        }
      }
      merged.push_back(std::move(t));
    }
    inputs = &merged;
  }
  std::vector<Tensor> outputs;
  const TimePoint merged_at = Clock::now();
  running_.acquire();  // an inline call of this version's may be running: a short wait
  double compute_ms = 0;
  Status status = run_runtime(*inputs, total_rows, batch.size(), outputs, compute_ms);
  const TimePoint executed_at = Clock::now();
  auto record_phases = [&] {
    metrics_.record_execution_phases(static_cast<uint64_t>(total_rows), batch.size(), merged_at - start,
                                     executed_at - merged_at, Clock::now() - executed_at);
  };

  if (status.is_ok() && batch.size() == 1) {
    record_phases();
    batch.front().done(std::move(status), std::move(outputs), compute_ms);
    return;
  }
  for (const Tensor& out : outputs) {
    if (status.is_ok() && (out.shape.empty() || out.shape[0] != total_rows)) {
      status = internal_error(fmt::format("output '{}' has {} rows for a batch of {}", out.name,
                                          out.shape.empty() ? 0 : out.shape[0], total_rows));
    }
  }
  if (!status.is_ok()) {
    for (Pending& p : batch) p.done(status, {}, compute_ms);
    return;
  }
  // Split every output back into each request's rows, in order; answer once all are split, so the
  // split's time is measured apart from the answers'.
  std::vector<std::vector<Tensor>> split(batch.size());
  int64_t row = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    const Pending& p = batch[b];
    std::vector<Tensor>& mine = split[b];
    mine.reserve(outputs.size());
    for (const Tensor& out : outputs) {
      Tensor part{out.name, out.datatype, out.shape, {}, {}};
      part.shape[0] = p.rows;
      const int64_t per_row = total_rows == 0 ? 0 : out.size() / total_rows;
      if (out.datatype == DataType::kBytes) {
        part.strings.assign(out.strings.begin() + row * per_row, out.strings.begin() + (row + p.rows) * per_row);
      } else {
        const size_t row_bytes = static_cast<size_t>(per_row) * datatype_size(out.datatype);
        part.bytes.assign(out.bytes.begin() + row * row_bytes, out.bytes.begin() + (row + p.rows) * row_bytes);
      }
      mine.push_back(std::move(part));
    }
    row += p.rows;
  }
  record_phases();
  for (size_t b = 0; b < batch.size(); ++b) batch[b].done({}, std::move(split[b]), compute_ms);
}

}  // namespace seraph
