#include "control/experiments.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "control/answer_comparison.h"
#include "control/records_json.h"
#include "models/model_manager.h"

namespace seraph {
namespace {

constexpr double kSampleRatioAlpha = 0.001;

std::string subject_of(int64_t id) { return fmt::format("experiment/{}", id); }

}  // namespace

ExperimentController::ExperimentController(ControlContext& context, MetricsRegistry& metrics)
    : context_(context),
      dropped_(metrics.counter("seraph_experiment_assignments_dropped_total",
                               "Experiment assignments not recorded because too many waited to be written.")
                   .get({})) {}

bool ExperimentController::active_on(const std::string& environment, const std::string& deployment) const {
  return std::any_of(running_.begin(), running_.end(), [&](const ExperimentRecord& e) {
    return e.environment == environment && e.deployment == deployment;
  });
}

Status ExperimentController::start(const ExperimentRequest& request, ExperimentRecord& out) {
  if (request.name.empty() || request.name.size() > 200) return invalid_argument("name must be 1 to 200 characters");
  if (request.arms.size() < 2) return invalid_argument("an experiment needs at least two arms");
  if (request.duration_ms < 0 || request.max_requests < 0) return invalid_argument("duration_ms and max_requests must not be negative");
  if (!context_.deployments.is_environment(request.environment)) {
    return invalid_argument(fmt::format("unknown environment '{}'", request.environment));
  }
  if (active_on(request.environment, request.deployment)) {
    return conflict(fmt::format("an experiment is already running on {}/{}", request.environment, request.deployment));
  }
  DeploymentRecord deployment;
  if (Status s = context_.registry.get_deployment(request.deployment, request.environment, deployment); !s.is_ok()) {
    return s;
  }

  DeploymentRecord next = deployment;
  next.variants.clear();
  for (size_t i = 0; i < request.arms.size(); ++i) {
    VariantRecord arm = request.arms[i];
    arm.role = i == 0 ? "baseline" : "candidate";
    if (!(arm.weight > 0)) return invalid_argument(fmt::format("arms[{}].weight must be above 0", i));
    Status found;
    context_.models.find(arm.model, arm.version, found);
    if (found.code() == StatusCode::kNotFound) return found;
    next.variants.push_back(std::move(arm));
  }
  for (const auto& v : deployment.variants) {
    if (v.role == "shadow") next.variants.push_back(v);
  }
  if (Status s = context_.deployments.validate(next); !s.is_ok()) return s;

  ExperimentRecord e;
  e.name = request.name;
  e.deployment = request.deployment;
  e.environment = request.environment;
  e.variants.assign(next.variants.begin(), next.variants.begin() + static_cast<std::ptrdiff_t>(request.arms.size()));
  e.previous_json = variants_to_json(deployment.variants);
  e.state = "running";
  e.started_ms = unix_ms();
  e.ends_ms = request.duration_ms ? e.started_ms + request.duration_ms : 0;
  e.max_requests = request.max_requests;
  RegistryChange change;
  change.deployment = next;
  change.experiment = e;
  rapidjson::StringBuffer details;
  RecordWriter w(details);
  w.StartObject();
  w.Key("name");
  w.String(e.name.c_str(), static_cast<rapidjson::SizeType>(e.name.size()));
  w.Key("arms");
  write_variants(w, e.variants);
  w.Key("duration_ms");
  w.Int64(request.duration_ms);
  w.Key("max_requests");
  w.Int64(request.max_requests);
  w.EndObject();
  change.events.push_back({0, 0, "admin", "experiment.started", fmt::format("deployment/{}/{}", e.environment, e.deployment),
                           std::string(details.GetString(), details.GetSize())});
  ChangeResult result;
  if (Status s = context_.commit(change, &result); !s.is_ok()) return s;
  e.id = result.experiment_id;
  running_.push_back(e);
  out = e;
  return {};
}

Status ExperimentController::stop(int64_t id, const std::string& reason, const std::string& actor, ExperimentRecord& out) {
  auto it = std::find_if(running_.begin(), running_.end(), [id](const ExperimentRecord& e) { return e.id == id; });
  if (it == running_.end()) {
    ExperimentRecord record;
    if (Status s = context_.registry.get_experiment(id, record); !s.is_ok()) return s;
    return conflict(fmt::format("experiment {} has already stopped", id));
  }
  // The last assignments are lost when they cannot be written; that must not keep the experiment
  // running.
  if (Status s = flush(); !s.is_ok()) context_.report("experiment.record_assignments", s);
  ExperimentRecord e = *it;
  e.state = "stopped";
  e.reason = reason;
  RegistryChange change;
  // The deployment gets its variants back and stops recording assignments in the same change; an
  // experiment cannot stop while its deployment cannot be read (it would keep splitting traffic).
  DeploymentRecord deployment;
  if (Status s = context_.registry.get_deployment(e.deployment, e.environment, deployment); s.is_ok()) {
    if (Status parsed = variants_from_json(e.previous_json, deployment.variants); !parsed.is_ok()) return parsed;
    change.deployment = std::move(deployment);
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  change.experiment = e;
  change.events.push_back({0, 0, actor, "experiment.stopped", subject_of(id), json_object({{"reason", reason}})});
  if (Status s = context_.commit(change); !s.is_ok()) return s;
  running_.erase(it);
  out = e;
  return {};
}

Status ExperimentController::resume_all() {
  std::vector<ExperimentRecord> experiments;
  if (Status s = context_.registry.list_experiments(experiments); !s.is_ok()) return s;
  for (const ExperimentRecord& e : experiments) {
    if (e.state != "running") continue;
    DeploymentRecord deployment;
    if (Status s = context_.registry.get_deployment(e.deployment, e.environment, deployment); s.is_ok()) {
      context_.deployments.publish(deployment, e.id);
    } else if (s.code() != StatusCode::kNotFound) {
      return s;
    }
    running_.push_back(e);
  }
  return {};
}

void ExperimentController::record_assignment(std::string_view request_id, int64_t experiment_id,
                                             std::string_view variant, const InferResponse& response) {
  Assignment a{std::string(request_id), experiment_id, std::string(variant), top_label(response), unix_ms()};
  std::lock_guard lock(pending_mutex_);
  if (pending_.size() >= kMaxPending) return dropped_.add();
  pending_.push_back(std::move(a));
}

Status ExperimentController::flush() {
  std::vector<Assignment> batch;
  {
    std::lock_guard lock(pending_mutex_);
    batch.swap(pending_);
  }
  if (batch.empty()) return {};
  Status s = context_.registry.record_assignments(batch);
  if (!s.is_ok()) dropped_.add(batch.size());
  return s;
}

Status ExperimentController::feedback(const Feedback& feedback) {
  std::lock_guard lock(context_.mutex);
  // The request's assignment may still wait in memory; if it could not be written, the feedback's
  // "not assigned" would be wrong.
  if (Status s = flush(); !s.is_ok()) return s;
  return context_.registry.record_feedback(feedback);
}

void ExperimentController::tick() {
  if (Status s = flush(); !s.is_ok()) context_.report("experiment.record_assignments", s);
  const int64_t now = unix_ms();
  std::vector<std::pair<int64_t, std::string>> ending;
  for (const ExperimentRecord& e : running_) {
    if (e.ends_ms && now >= e.ends_ms) {
      ending.emplace_back(e.id, "its duration is over");
    } else if (e.max_requests) {
      std::vector<ArmCounts> counts;
      if (Status s = context_.registry.experiment_counts(e.id, counts); !s.is_ok()) {
        context_.report("experiment.counts", s);  // could not look: keep it running until the next tick
        continue;
      }
      int64_t served = 0;
      for (const ArmCounts& arm : counts) served += arm.requests;
      if (served >= e.max_requests) ending.emplace_back(e.id, fmt::format("it reached {} requests", e.max_requests));
    }
  }
  for (const auto& [id, reason] : ending) {
    ExperimentRecord stopped;
    if (Status s = stop(id, reason, "experiment-controller", stopped); !s.is_ok())
      context_.report("experiment.stop", s);
  }
}

Status ExperimentController::results(int64_t id, ExperimentResults& out) {
  // Counts missing the assignments that could not be written would mislead.
  if (Status s = flush(); !s.is_ok()) return s;
  ExperimentRecord record;
  if (Status s = context_.registry.get_experiment(id, record); !s.is_ok()) return s;
  std::vector<ArmCounts> all_counts;
  if (Status s = context_.registry.experiment_counts(id, all_counts); !s.is_ok()) return s;
  out.experiment = record;
  out.arms.clear();
  std::vector<double> observed;
  std::vector<double> expected;
  for (const ArmCounts& counts : all_counts) {
    ArmResult arm;
    arm.counts = counts;
    for (const auto& v : record.variants) {
      if (v.name == counts.variant) arm.weight = v.weight;
    }
    if (counts.outcomes > 0) {
      arm.success_rate = static_cast<double>(counts.successes) / static_cast<double>(counts.outcomes);
      arm.mean_reward = counts.reward_sum / static_cast<double>(counts.outcomes);
    }
    if (!out.arms.empty()) {
      const ArmCounts& first = out.arms.front().counts;
      arm.difference = arm.success_rate - out.arms.front().success_rate;
      arm.difference_interval = proportion_difference_interval(first.successes, first.outcomes, counts.successes, counts.outcomes, 0.95);
      arm.p_value = two_proportion_z_test(first.successes, first.outcomes, counts.successes, counts.outcomes,
                                          Alternative::kTwoSided)
                        .p_value;
    }
    observed.push_back(static_cast<double>(counts.requests));
    expected.push_back(arm.weight);
    out.arms.push_back(arm);
  }
  double total = 0;
  for (double o : observed) total += o;
  if (total > 0) {
    const TestResult srm = chi_squared_goodness_of_fit(observed, expected);
    out.sample_ratio_chi2 = srm.statistic;
    out.sample_ratio_p_value = srm.p_value;
    out.sample_ratio_mismatch = srm.p_value < kSampleRatioAlpha;
  }
  return {};
}

}  // namespace seraph
