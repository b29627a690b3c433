#include "models/model_version.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/clock.h"
#include "observe/process_metrics.h"

namespace seraph {
namespace {

constexpr int64_t kLastUsedResolutionNs = 100'000;

}  // namespace

const char* state_name(ModelState state) {
  switch (state) {
    case ModelState::kLoading: return "LOADING";
    case ModelState::kReady: return "READY";
    case ModelState::kUnloading: return "UNLOADING";
    case ModelState::kUnavailable: return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

ModelVersion::ModelVersion(std::string model, int64_t version, std::filesystem::path dir,
                           ModelMetricFamilies& families, ExecutionLimits limits, RequestLoad request_load)
    : model_(std::move(model)),
      version_(version),
      dir_(std::move(dir)),
      limits_(limits),
      request_load_(std::move(request_load)),
      metrics_(families, model_, version_),
      resilience_(fmt::format("{}:{}", model_, version_), false) {
  metrics_.set_state(state_name(ModelState::kLoading));
}

ModelVersion::~ModelVersion() {
  batcher_.reset();  // finish queued work before the runtime goes away
}

std::string ModelVersion::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

bool ModelVersion::servable() const {
  const ModelState s = state();
  if (s != ModelState::kUnavailable) return true;
  std::lock_guard lock(mutex_);
  return loadable_;
}

void ModelVersion::set_state(ModelState state, std::string reason) {
  reason_ = std::move(reason);  // callers hold mutex_ (or run before the version is shared)
  state_.store(state);
  metrics_.set_state(state_name(state));
}

void ModelVersion::read_config() {
  std::lock_guard lock(mutex_);
  Status status = load_model_config(dir_ / "model.yaml", config_);
  if (status.is_ok() && !is_known_runtime(config_.runtime)) {
    status = invalid_argument("model.yaml: runtime: unknown runtime '" + config_.runtime + "'");
  }
  if (!status.is_ok()) {
    set_state(ModelState::kUnavailable, status.message());
    return;
  }
  lazy_ = config_.load.empty() ? limits_.lazy_by_default : config_.load == "lazy";
  if (lazy_) {
    loadable_ = true;
    set_state(ModelState::kUnavailable, "not loaded yet: loads on its first request");
  }
}

void ModelVersion::allow_reload() {
  std::lock_guard lock(mutex_);
  if (state() == ModelState::kUnavailable && !config_.runtime.empty()) loadable_ = true;
}

void ModelVersion::load() {
  {
    std::lock_guard lock(mutex_);
    if (state() == ModelState::kReady || config_.runtime.empty()) return;
    loadable_ = false;
    set_state(ModelState::kLoading);
  }
  const TimePoint start = Clock::now();
  const double resident_before = resident_bytes();
  std::string failure;
  try {
    runtime_ = create_runtime(config_, dir_);
    // READY only once the warm-up samples run: the first real request pays no first-call costs.
    for (size_t i = 0; i < config_.warmup.size(); ++i) {
      std::vector<Tensor> outputs;
      Status status = runtime_->execute(config_.warmup[i], outputs);
      if (!status.is_ok()) throw std::runtime_error(fmt::format("warm-up sample {} failed: {}", i, status.message()));
    }
    BatchingPolicy policy;
    policy.max_batch_size = config_.max_batch_size;
    policy.max_queue_delay = std::chrono::microseconds(config_.max_queue_delay_us);
    policy.max_queue_size = config_.max_queue_size > 0 ? static_cast<size_t>(config_.max_queue_size) : limits_.max_queue;
    policy.instances = config_.instances;
    batcher_ = std::make_unique<Batcher>(*runtime_, policy, metrics_);
  } catch (const std::exception& e) {
    failure = e.what();
    runtime_.reset();
  }
  const double seconds = elapsed_ms(start) / 1000.0;
  metrics_.record_load(failure.empty() ? "success" : "failure", seconds);
  std::vector<Waiting> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
    if (failure.empty()) {
      // The declared footprint when model.yaml gives one, else what loading added to the
      // process, and never less than the artifact on disk.
      std::error_code ec;
      const auto artifact = static_cast<int64_t>(std::filesystem::file_size(dir_ / config_.artifact, ec));
      const auto measured = static_cast<int64_t>(std::max(0.0, resident_bytes() - resident_before));
      footprint_bytes_ = config_.memory_bytes > 0 ? config_.memory_bytes : std::max(measured, ec ? 0 : artifact);
      metrics_.set_memory_bytes(static_cast<double>(footprint_bytes_.load()));
      load_seconds_ = seconds;
      set_state(ModelState::kReady);
    } else {
      set_state(ModelState::kUnavailable, failure);
    }
  }
  release_waiting(std::move(waiting), unavailable(fmt::format("model '{}' version {} failed to load: {}", model_,
                                                              version_, failure)));
}

bool ModelVersion::try_unload(const std::string& reason, const char* metric_reason, bool reloadable) {
  std::unique_ptr<Batcher> batcher;
  std::unique_ptr<Runtime> runtime;
  {
    std::lock_guard lock(mutex_);
    if (state() != ModelState::kReady) return false;
    set_state(ModelState::kUnloading);
    if (in_use_.value() > 0) {  // a request counted itself in before it saw UNLOADING
      set_state(ModelState::kReady);
      return false;
    }
    batcher = std::move(batcher_);
    runtime = std::move(runtime_);
  }
  // Joining the execution threads and freeing the runtime (a libtorch module takes a while) happen
  // outside the lock: requests arriving meanwhile see UNLOADING and queue in waiting_ without
  // waiting on them. No request uses them: the count was zero once UNLOADING was announced.
  batcher->stop();
  batcher.reset();
  runtime.reset();

  std::vector<Waiting> waiting;
  bool reload = false;
  {
    std::lock_guard lock(mutex_);
    footprint_bytes_ = 0;
    metrics_.set_memory_bytes(0);
    metrics_.record_unload(metric_reason);
    loadable_ = reloadable;
    set_state(ModelState::kUnavailable, reason);
    if (!waiting_.empty() && reloadable) {
      set_state(ModelState::kLoading);  // requests arrived while unloading: load again for them
      loadable_ = false;
      reload = true;
    } else {
      waiting.swap(waiting_);
    }
  }
  if (reload) {
    request_load_(*this);
  } else {
    release_waiting(std::move(waiting), unavailable(fmt::format("model '{}' version {} is {}", model_, version_, reason)));
  }
  return true;
}

void ModelVersion::release_waiting(std::vector<Waiting> waiting, const Status& refusal) {
  for (Waiting& w : waiting) {
    if (state() == ModelState::kReady) {
      submit(std::move(w.request), w.deadline, std::move(w.done));
    } else {
      refuse(w.done, refusal);
    }
  }
}

void ModelVersion::refuse(Done& done, Status status) {
  done(std::move(status), {});
  in_use_.leave();
}

void ModelVersion::execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) {
  // Counted in first, so that an unload either sees this request or this request sees it; the
  // count drops once the request is answered (submit's callback, or refuse()).
  in_use_.enter();
  // The precise clock: least-recently-used order must hold between requests a millisecond apart.
  // Written only once it has moved on by a tenth of that, so that the I/O threads do not take the
  // line from each other on every request.
  const int64_t now_ns = Clock::now().time_since_epoch().count();
  if (now_ns - last_used_ns_.load(std::memory_order_relaxed) >= kLastUsedResolutionNs) {
    last_used_ns_.store(now_ns, std::memory_order_relaxed);
  }
  if (state() == ModelState::kReady) return submit(std::move(request), deadline, std::move(done));

  std::unique_lock lock(mutex_);
  const ModelState s = state();
  if (s == ModelState::kReady) {
    lock.unlock();
    return submit(std::move(request), deadline, std::move(done));
  }
  const bool will_load = s == ModelState::kUnavailable && loadable_;
  if (s == ModelState::kLoading || s == ModelState::kUnloading || will_load) {
    if (waiting_.size() >= limits_.max_queue) {
      lock.unlock();
      return refuse(done, {StatusCode::kUnavailable,
                           fmt::format("model '{}' version {} is loading and too many requests wait for it", model_, version_)});
    }
    waiting_.push_back({std::move(request), deadline, std::move(done)});
    if (will_load) {
      loadable_ = false;
      set_state(ModelState::kLoading);  // only the first request asks for the load
      lock.unlock();
      request_load_(*this);
    }
    return;
  }
  const std::string why = reason_;
  lock.unlock();
  refuse(done, unavailable(fmt::format("model '{}' version {} is not ready ({}{}{})", model_, version_, state_name(s),
                                       why.empty() ? "" : ": ", why)));
}

bool ModelVersion::runs_inline() const {
  if (config_.execution == "inline") return true;
  if (config_.execution == "queued" || config_.max_batch_size > 1) return false;
  const double recent_us = batcher_->recent_compute_us();
  return recent_us > 0 && recent_us < static_cast<double>(config_.inline_threshold_us);
}

void ModelVersion::submit(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) {
  // What the answer needs of the request travels with the callback; the inputs stay shared.
  Batcher::Done finish = [this, request, done = std::move(done)](Status status, std::vector<Tensor> outputs,
                                                                  double compute_ms) mutable {
    InferResponse response;
    response.model = model_;
    response.version = version_;
    response.id = request->id;
    response.compute_ms = compute_ms;
    response.outputs = std::move(outputs);
    const auto& wanted = request->requested_outputs;
    if (status.is_ok() && !wanted.empty()) {
      std::erase_if(response.outputs, [&](const Tensor& t) {
        return std::find(wanted.begin(), wanted.end(), t.name) == wanted.end();
      });
    }
    // Counted out before the answer goes: whoever the answer wakes may find the version idle.
    in_use_.leave();
    done(std::move(status), std::move(response));
  };
  if (runs_inline()) {
    // Busy slots are waited for about one recent call's time, never past the inline threshold.
    const double wait_us = std::min(batcher_->recent_compute_us(), static_cast<double>(config_.inline_threshold_us));
    const auto wait = std::chrono::nanoseconds(static_cast<int64_t>(wait_us * 1000));
    if (batcher_->try_run_inline(*request, finish, wait)) return;
  }
  batcher_->submit(std::move(request), deadline, std::move(finish));
}

}  // namespace seraph
