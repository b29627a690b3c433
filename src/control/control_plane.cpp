#include "control/control_plane.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/records_json.h"
#include "models/model_manager.h"

namespace seraph {

namespace {

// {"variants": [...]}: event details are JSON objects.
std::string variants_event(const std::vector<VariantRecord>& variants) {
  return "{\"variants\":" + variants_to_json(variants) + "}";
}

}  // namespace

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void ControlContext::report(std::string_view operation, const Status& status) {
  errors.get({{"operation", std::string(operation)}}).add();
  spdlog::error(
      json_object({{"msg", "control operation failed"}, {"operation", operation}, {"error", status.message()}}));
}

ControlPlane::ControlPlane(Registry& registry, Deployments& deployments, ModelManager& models, MetricsRegistry& metrics,
                           std::chrono::milliseconds tick_interval)
    : context_{registry,
               deployments,
               models,
               metrics.counter(
                   "seraph_control_errors_total",
                   "Control-plane operations that failed with no caller to answer (controller ticks), by operation."),
               {}},
      rollouts_(context_, metrics),
      experiments_(context_, metrics),
      api_keys_(registry),
      tick_interval_(tick_interval) {}

ControlPlane::~ControlPlane() { stop(); }

Status ControlPlane::start(const std::vector<DeploymentRecord>& configured) {
  std::lock_guard lock(context_.mutex);
  for (const DeploymentRecord& d : configured) {
    DeploymentRecord stored;
    const Status found = context_.registry.get_deployment(d.name, d.environment, stored);
    if (found.is_ok()) continue;
    if (found.code() != StatusCode::kNotFound) return found;
    RegistryChange change;
    change.deployment = d;
    change.events.push_back({0, 0, "config", "deployment.created", fmt::format("deployment/{}/{}", d.environment, d.name),
                             variants_event(d.variants)});
    if (Status s = context_.registry.apply(change); !s.is_ok()) return s;
  }
  std::vector<DeploymentRecord> deployments;
  if (Status s = context_.registry.list_deployments(deployments); !s.is_ok()) return s;
  for (const DeploymentRecord& d : deployments) context_.deployments.publish(d);
  if (Status s = rollouts_.resume_all(); !s.is_ok()) return s;
  if (Status s = experiments_.resume_all(); !s.is_ok()) return s;
  if (Status s = api_keys_.refresh(); !s.is_ok()) return s;
  timer_ = std::thread([this] { run_timer(); });
  worker_ = std::thread([this] { run_worker(); });
  return {};
}

bool ControlPlane::submit(std::function<void()> job) {
  {
    std::lock_guard lock(threads_mutex_);
    if (stopping_ || jobs_.size() >= kMaxQueuedJobs) return false;
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_one();
  return true;
}

void ControlPlane::append_event(EventRecord event) {
  std::string kind = event.kind;
  const bool queued = submit([this, event = std::move(event)] {
    RegistryChange change;
    change.events.push_back(event);
    if (Status s = context_.registry.apply(change); !s.is_ok()) context_.report("event.append", s);
  });
  if (!queued) {
    context_.report("event.append",
                    unavailable(fmt::format("the control plane's queue is full or stopped: {} event dropped", kind)));
  }
}

void ControlPlane::run_worker() {
  std::unique_lock lock(threads_mutex_);
  for (;;) {
    jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and every queued job has run
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void ControlPlane::stop() {
  {
    std::lock_guard lock(threads_mutex_);
    stopping_ = true;
  }
  timer_cv_.notify_all();
  jobs_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (worker_.joinable()) worker_.join();
}

void ControlPlane::run_timer() {
  std::unique_lock timer_lock(threads_mutex_);
  while (!timer_cv_.wait_for(timer_lock, tick_interval_, [this] { return stopping_; })) {
    timer_lock.unlock();
    {
      std::lock_guard lock(context_.mutex);
      rollouts_.tick();
      experiments_.tick();
    }
    // Keys revoked or created on other replicas; on failure the keys in use stay.
    if (Status s = api_keys_.refresh(); !s.is_ok()) context_.report("api_keys.refresh", s);
    timer_lock.lock();
  }
}

Status ControlPlane::put_deployment(const DeploymentRecord& record, DeploymentRecord& out) {
  std::lock_guard lock(context_.mutex);
  if (Status s = context_.deployments.validate(record); !s.is_ok()) return s;
  if (rollouts_.active_on(record.environment, record.name) || experiments_.active_on(record.environment, record.name)) {
    return conflict(fmt::format("{}/{} is changing under a rollout or experiment; pause or end it first", record.environment, record.name));
  }
  for (const VariantRecord& v : record.variants) {
    if (!v.backend.empty()) continue;  // a remote model: its backend answers for it
    Status found;
    context_.models.find(v.model, v.version, found);
    if (found.code() == StatusCode::kNotFound) return found;
  }
  DeploymentRecord stored;
  const Status found = context_.registry.get_deployment(record.name, record.environment, stored);
  if (!found.is_ok() && found.code() != StatusCode::kNotFound) return found;
  RegistryChange change;
  change.deployment = record;
  change.events.push_back({0, 0, "admin", found.is_ok() ? "deployment.updated" : "deployment.created",
                           fmt::format("deployment/{}/{}", record.environment, record.name),
                           variants_event(record.variants)});
  ChangeResult written;
  if (Status s = context_.commit(change, &written); !s.is_ok()) return s;
  out = record;
  out.updated_ms = written.time_ms;
  return {};
}

Status ControlPlane::set_fault(const std::string& environment, const std::string& deployment, const std::string& variant,
                               const FaultSpec& fault, DeploymentRecord& out) {
  std::lock_guard lock(context_.mutex);
  DeploymentRecord record;
  if (Status s = context_.registry.get_deployment(deployment, environment, record); !s.is_ok()) return s;
  bool found = variant.empty();
  if (found) record.policy.fault = fault;
  for (VariantRecord& v : record.variants) {
    if (v.name == variant) {
      v.fault = fault;
      found = true;
    }
  }
  if (!found) return not_found(fmt::format("deployment '{}' has no variant '{}'", deployment, variant));
  if (Status s = context_.deployments.validate(record); !s.is_ok()) return s;
  rapidjson::StringBuffer details;
  RecordWriter w(details);
  w.StartObject();
  if (!variant.empty()) {
    w.Key("variant");
    w.String(variant.c_str(), static_cast<rapidjson::SizeType>(variant.size()));
  }
  w.Key("fault");
  write_fault(w, fault);
  w.EndObject();
  RegistryChange change;
  change.deployment = record;
  change.events.push_back({0, 0, "admin", "fault.set", fmt::format("deployment/{}/{}", environment, deployment),
                           std::string(details.GetString(), details.GetSize())});
  ChangeResult written;
  if (Status s = context_.commit(change, &written); !s.is_ok()) return s;
  out = std::move(record);
  out.updated_ms = written.time_ms;
  return {};
}

Status ControlPlane::register_version(ModelVersionRecord record, ModelVersionRecord& out) {
  std::lock_guard lock(context_.mutex);
  // Stamped here rather than by the registry, so the event and the answer carry the stored time.
  if (record.created_ms == 0) record.created_ms = unix_ms();
  rapidjson::StringBuffer details;
  RecordWriter w(details);
  write_version(w, record);
  const EventRecord registered{0,
                               0,
                               "admin",
                               "model_version.registered",
                               fmt::format("model/{}/{}", record.model, record.version),
                               std::string(details.GetString(), details.GetSize())};
  if (Status s = context_.registry.register_version(record, {registered}); !s.is_ok()) return s;
  out = std::move(record);
  return {};
}

Status ControlPlane::archive_version(const std::string& model, int64_t version, ModelVersionRecord& out) {
  std::lock_guard lock(context_.mutex);
  ModelVersionRecord record;
  if (Status s = context_.registry.get_version(model, version, record); !s.is_ok()) return s;
  const EventRecord archived{0, 0, "admin", "model_version.archived", fmt::format("model/{}/{}", model, version), "{}"};
  if (Status s = context_.registry.archive_version(model, version, {archived}); !s.is_ok()) return s;
  out = std::move(record);
  out.archived = true;
  return {};
}

Status ControlPlane::start_rollout(const RolloutRequest& request, RolloutRecord& out) {
  std::lock_guard lock(context_.mutex);
  if (experiments_.active_on(request.environment, request.deployment)) {
    return conflict(fmt::format("an experiment is running on {}/{}; stop it first", request.environment, request.deployment));
  }
  return rollouts_.start(request, out);
}

Status ControlPlane::rollout_action(int64_t id, std::string_view action, RolloutRecord& out) {
  std::lock_guard lock(context_.mutex);
  if (action == "pause") return rollouts_.pause(id, out);
  if (action == "resume") return rollouts_.resume(id, out);
  if (action == "promote") return rollouts_.promote(id, out);
  if (action == "rollback") return rollouts_.rollback(id, out);
  return not_found(fmt::format("no rollout action '{}' (pause, resume, promote, rollback)", action));
}

Status ControlPlane::start_experiment(const ExperimentRequest& request, ExperimentRecord& out) {
  std::lock_guard lock(context_.mutex);
  if (rollouts_.active_on(request.environment, request.deployment)) {
    return conflict(fmt::format("a rollout is in progress on {}/{}; let it end first", request.environment, request.deployment));
  }
  return experiments_.start(request, out);
}

Status ControlPlane::stop_experiment(int64_t id, ExperimentRecord& out) {
  std::lock_guard lock(context_.mutex);
  return experiments_.stop(id, "stopped by admin", "admin", out);
}

Status ControlPlane::experiment_results(int64_t id, ExperimentResults& out) {
  std::lock_guard lock(context_.mutex);
  return experiments_.results(id, out);
}

}  // namespace seraph
