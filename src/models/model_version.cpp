#include "models/model_version.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/clock.h"
#include "models/input_validation.h"

namespace seraph {

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
                           ModelMetricFamilies& families)
    : model_(std::move(model)), version_(version), dir_(std::move(dir)), metrics_(families, model_, version_) {
  metrics_.set_state(state_name(ModelState::kLoading));
}

ModelVersion::~ModelVersion() {
  batcher_.reset();  // finish queued work before the runtime goes away
}

void ModelVersion::unload() {
  if (state() != ModelState::kReady) return;
  set_state(ModelState::kUnloading);
  batcher_->stop();
}

std::string ModelVersion::reason() const {
  std::lock_guard lock(reason_mutex_);
  return reason_;
}

void ModelVersion::set_state(ModelState state, std::string reason) {
  {
    std::lock_guard lock(reason_mutex_);
    reason_ = std::move(reason);
  }
  state_.store(state, std::memory_order_release);
  metrics_.set_state(state_name(state));
}

void ModelVersion::load(const ExecutionLimits& limits) {
  const TimePoint start = Clock::now();
  set_state(ModelState::kLoading);
  Status status = load_model_config(dir_ / "model.yaml", config_);
  if (!status.is_ok()) {
    set_state(ModelState::kUnavailable, status.message());
    return;
  }
  if (!is_known_runtime(config_.runtime)) {
    set_state(ModelState::kUnavailable, "model.yaml: runtime: unknown runtime '" + config_.runtime + "'");
    return;
  }
  try {
    runtime_ = create_runtime(config_, dir_);
  } catch (const std::exception& e) {
    set_state(ModelState::kUnavailable, e.what());
    return;
  }
  BatchingPolicy policy;
  policy.max_batch_size = config_.max_batch_size;
  policy.max_queue_delay = std::chrono::microseconds(config_.max_queue_delay_us);
  policy.max_queue_size = config_.max_queue_size > 0 ? static_cast<size_t>(config_.max_queue_size) : limits.max_queue;
  policy.instances = config_.instances;
  batcher_ = std::make_unique<Batcher>(*runtime_, policy, metrics_);
  load_seconds_ = elapsed_ms(start) / 1000.0;
  metrics_.set_load_seconds(load_seconds_);
  set_state(ModelState::kReady);
}

void ModelVersion::infer(InferRequest request, Done done) {
  if (state() != ModelState::kReady) {
    done(unavailable(fmt::format("model '{}' version {} is not ready", model_, version_)), {});
    return;
  }
  if (Status status = validate_request(config_, request); !status.is_ok()) {
    done(std::move(status), {});
    return;
  }
  // What the answer needs of the request travels with the callback; the inputs go to the batcher.
  auto finish = [this, id = std::move(request.id), wanted = std::move(request.requested_outputs),
                 done = std::move(done)](Status status, std::vector<Tensor> outputs, double compute_ms) mutable {
    InferResponse response;
    response.model = model_;
    response.version = version_;
    response.id = std::move(id);
    response.compute_ms = compute_ms;
    response.outputs = std::move(outputs);
    if (status.is_ok() && !wanted.empty()) {
      std::erase_if(response.outputs, [&](const Tensor& t) {
        return std::find(wanted.begin(), wanted.end(), t.name) == wanted.end();
      });
    }
    done(std::move(status), std::move(response));
  };
  batcher_->submit(std::move(request.inputs), request.deadline, std::move(finish));
}

}  // namespace seraph
