#pragma once
// The control plane: the registry, the live deployments, the rollout and experiment controllers,
// the accepted API keys, and the timer thread that runs the controllers and refreshes the keys off
// the hot path. Every change goes through here,
// one at a time, is written to the registry, then published to the data plane.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/api_keys.h"
#include "control/control_context.h"
#include "control/experiments.h"
#include "control/rollout_controller.h"

namespace seraph {

class ControlPlane {
 public:
  ControlPlane(Registry& registry, Deployments& deployments, ModelManager& models, MetricsRegistry& metrics,
               std::chrono::milliseconds tick_interval);
  ~ControlPlane();  // stops the timer thread

  // Writes the configured deployments the registry does not have yet (the registry wins after the
  // first start, so admin changes survive restarts), publishes every deployment, takes over the
  // running rollouts and experiments, and starts the timer. Fails, writing nothing, when the
  // registry cannot be read: a deployment it could not look up is never overwritten.
  Status start(const std::vector<DeploymentRecord>& configured);
  void stop();

  // Runs `job` on the control plane's worker thread, so that admin and feedback requests, which
  // wait on the registry's disk or network, never hold up an I/O thread. False when the bounded
  // queue is full (the caller answers 503).
  bool submit(std::function<void()> job);
  static constexpr size_t kMaxQueuedJobs = 1024;
  // Appends `event` to the registry's event log from the worker thread, for callers that must never
  // wait on the database (the data plane). When the queue is full the event is dropped, and that
  // is logged and counted (seraph_control_errors_total{operation="event.append"}).
  void append_event(EventRecord event);

  Registry& registry() { return context_.registry; }
  Deployments& deployments() { return context_.deployments; }
  ExperimentController& experiments() { return experiments_; }
  ApiKeys& api_keys() { return api_keys_; }

  // Admin operations; each takes the control lock.
  Status put_deployment(const DeploymentRecord& record, DeploymentRecord& out);
  // The faults injected into one variant, or, when `variant` is empty, into the whole deployment.
  Status set_fault(const std::string& environment, const std::string& deployment, const std::string& variant,
                   const FaultSpec& fault, DeploymentRecord& out);
  // `out`: the version as the registry holds it afterwards.
  Status register_version(ModelVersionRecord record, ModelVersionRecord& out);
  Status archive_version(const std::string& model, int64_t version, ModelVersionRecord& out);
  Status start_rollout(const RolloutRequest& request, RolloutRecord& out);
  // action: pause, resume, promote, rollback
  Status rollout_action(int64_t id, std::string_view action, RolloutRecord& out);
  Status start_experiment(const ExperimentRequest& request, ExperimentRecord& out);
  Status stop_experiment(int64_t id, ExperimentRecord& out);
  Status experiment_results(int64_t id, ExperimentResults& out);

 private:
  void run_timer();
  void run_worker();

  ControlContext context_;
  RolloutController rollouts_;
  ExperimentController experiments_;
  ApiKeys api_keys_;
  const std::chrono::milliseconds tick_interval_;
  std::mutex threads_mutex_;
  std::condition_variable timer_cv_;
  bool stopping_ = false;
  std::thread timer_;
  std::deque<std::function<void()>> jobs_;  // guarded by threads_mutex_, like stopping_
  std::condition_variable jobs_cv_;
  std::thread worker_;
};

}  // namespace seraph
