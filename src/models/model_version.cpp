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
  executor_.reset();  // finish queued work before the runtime goes away
}

void ModelVersion::unload() {
  if (state() != ModelState::kReady) return;
  set_state(ModelState::kUnloading);
  executor_->stop();
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
  executor_ = std::make_unique<Executor>(config_.instances, limits.max_queue);
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
  // The job owns the request and the callback; a full queue drops the job unrun.
  auto job = std::make_shared<std::pair<InferRequest, Done>>(std::move(request), std::move(done));
  if (!executor_->submit([this, job] { run(job->first, job->second); })) {
    job->second({StatusCode::kUnavailable, fmt::format("model '{}' version {} is overloaded: its queue is full",
                                                       model_, version_)},
                {});
  }
}

void ModelVersion::run(InferRequest& request, const Done& done) {
  InferResponse response;
  response.model = model_;
  response.version = version_;
  response.id = std::move(request.id);
  const TimePoint start = Clock::now();
  Status status = runtime_->execute(request.inputs, response.outputs);
  response.compute_ms = elapsed_ms(start);
  metrics_.record_compute(response.compute_ms / 1000.0);
  if (status.is_ok() && !request.requested_outputs.empty()) {
    std::erase_if(response.outputs, [&](const Tensor& t) {
      return std::find(request.requested_outputs.begin(), request.requested_outputs.end(), t.name) ==
             request.requested_outputs.end();
    });
  }
  done(std::move(status), std::move(response));
}

}  // namespace seraph
