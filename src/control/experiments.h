#pragma once
// A/B experiments: an experiment splits a deployment's traffic between two or more arms (model
// versions with weights) for a time or a number of requests, then gives the deployment back its
// previous variants. Every request an arm serves is recorded with its top label; outcomes arrive
// later (POST /feedback with the request id and a label or a reward) and are judged against it.
// Results compare every arm with the first: success rate, the difference with a confidence
// interval, a two-proportion z-test, and a sample-ratio-mismatch check of the split itself.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "control/control_context.h"
#include "control/statistics.h"
#include "core/inference.h"
#include "observe/metrics.h"

namespace seraph {

struct ExperimentRequest {
  std::string name;
  std::string deployment;
  std::string environment;
  std::vector<VariantRecord> arms;  // name, model, version, weight
  int64_t duration_ms = 0;          // 0: until stopped or max_requests
  int64_t max_requests = 0;         // 0: no limit
};

struct ArmResult {
  ArmCounts counts;
  double weight = 0;
  double success_rate = 0;           // successes / outcomes
  double mean_reward = 0;
  // Against the first arm (absent for the first arm itself):
  double difference = 0;             // success_rate - first arm's
  Interval difference_interval;      // 95% Wald interval
  double p_value = 1;                // two-sided two-proportion z-test
};

struct ExperimentResults {
  ExperimentRecord experiment;
  std::vector<ArmResult> arms;
  double sample_ratio_chi2 = 0;      // requests per arm against the weights
  double sample_ratio_p_value = 1;
  bool sample_ratio_mismatch = false;  // p < 0.001: the split is broken, distrust the results
};

class ExperimentController {
 public:
  // Assignments wait in memory at most this many, flushed to the registry on every tick.
  static constexpr size_t kMaxPending = 100000;

  ExperimentController(ControlContext& context, MetricsRegistry& metrics);

  // The caller holds the context's lock for start, stop, results, resume_all and tick.
  Status start(const ExperimentRequest& request, ExperimentRecord& out);
  Status stop(int64_t id, const std::string& reason, const std::string& actor, ExperimentRecord& out);
  Status results(int64_t id, ExperimentResults& out);
  // The registry's running experiments, at start: published with their deployments. Fails when the
  // registry cannot be read.
  Status resume_all();
  // Flushes assignments; ends experiments whose time or sample size is reached. What fails is
  // reported (ControlContext::report) and tried again on the next tick.
  void tick();
  bool active_on(const std::string& environment, const std::string& deployment) const;

  // Hot path (any thread; a short lock of its own): remembers which arm served a request.
  void record_assignment(std::string_view request_id, int64_t experiment_id, std::string_view variant,
                         const InferResponse& response);
  // Takes the context's lock itself.
  Status feedback(const Feedback& feedback);

 private:
  // Writes the assignments waiting in memory; on failure they are dropped (and counted).
  Status flush();

  ControlContext& context_;
  std::vector<ExperimentRecord> running_;
  std::mutex pending_mutex_;
  std::vector<Assignment> pending_;
  Counter& dropped_;
};

}  // namespace seraph
