#pragma once
// The routing table the data plane reads: every deployment of every environment with its
// variants, as an immutable snapshot. Changes build a new table and swap it in atomically, so a
// request routes on one consistent table and takes no lock.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/registry.h"
#include "control/variant_stats.h"
#include "core/inference.h"
#include "core/snapshot.h"
#include "core/status.h"

namespace seraph {

// Checks a deployment before it is stored or published: names, environment, roles, weights and
// fault settings, and that a variant's backend is one of `backends`. Every problem is a clear
// message naming the field.
Status validate_deployment(const DeploymentRecord& record, const std::vector<std::string>& environments,
                           const std::vector<std::string>& backends = {});

struct LiveVariant {
  VariantRecord record;
  std::shared_ptr<VariantStats> stats;
};

// One step of a deployment's fallback chain (guards/fallback_guard.h), resolved when the deployment
// is published so that a request falling back parses, allocates and looks up nothing.
struct LiveFallbackStep {
  FallbackStep::Kind kind = FallbackStep::Kind::kVariant;
  size_t variant = 0;                           // kVariant: the variant's index in `variants`
  std::shared_ptr<const InferResponse> answer;  // kDefaultAnswer: the decoded outputs
  std::string label;                            // "variant:<name>", "stale_cache" or "default_answer"
  Counter* served = nullptr;                    // seraph_fallbacks_total: the step answered
  Counter* failed = nullptr;                    // the step was tried and could not answer
};

struct LiveDeployment {
  std::string name;
  std::string environment;
  std::string sticky_header;  // empty: no stickiness
  int64_t experiment_id = 0;  // nonzero while an A/B experiment splits the traffic
  DeploymentPolicy policy;    // default priority, deployment-wide faults, fallback chain
  std::vector<LiveVariant> variants;  // in the record's order
  std::vector<LiveFallbackStep> fallback;  // policy.fallback, resolved

  // The variant at point u (0 <= u < 1) of the weight line of the served (non-shadow) variants.
  const LiveVariant& pick(double u) const;
  // The variant with this role, or else this name (for X-Canary); nullptr when none.
  const LiveVariant* by_role_or_name(std::string_view role) const;
  // The served variant running `version` (for a forced version); nullptr when none.
  const LiveVariant* serving_version(int64_t version) const;
  const LiveVariant* shadow() const { return shadow_ ? &variants[*shadow_] : nullptr; }

 private:
  friend class Deployments;
  std::vector<std::pair<double, size_t>> cumulative_;  // running weight total -> variant index
  std::optional<size_t> shadow_;
};

struct DeploymentTable {
  // Orders (environment, name) keys, and finds them by string_views without building strings.
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, std::string_view>(a.first, a.second) <
             std::pair<std::string_view, std::string_view>(b.first, b.second);
    }
  };
  std::map<std::pair<std::string, std::string>, LiveDeployment, KeyLess> deployments;
  const LiveDeployment* find(std::string_view environment, std::string_view name) const;
};

class Deployments {
 public:
  Deployments(MetricsRegistry& metrics, std::string default_environment, std::vector<std::string> environments,
              std::vector<std::string> backends = {});

  std::shared_ptr<const DeploymentTable> snapshot() const { return table_.load(); }
  // The table as this thread last saw it, refreshed when a publish has moved it on: for the
  // per-request path (no lock). Valid until this thread's next call; copy it to keep it.
  const std::shared_ptr<const DeploymentTable>& current() const { return table_.read_shared(); }

  // Publishes a deployment (replacing the one of the same name and environment). Variants that
  // keep their name, model and version keep their stats. The record must be valid.
  void publish(const DeploymentRecord& record, int64_t experiment_id = 0);

  const std::string& default_environment() const { return default_environment_; }
  bool is_environment(std::string_view environment) const;
  const std::vector<std::string>& environments() const { return environments_; }
  // The configured remote backends a variant may name.
  const std::vector<std::string>& backends() const { return backends_; }
  // validate_deployment() against these environments and backends.
  Status validate(const DeploymentRecord& record) const {
    return validate_deployment(record, environments_, backends_);
  }

 private:
  const std::string default_environment_;
  const std::vector<std::string> environments_;
  const std::vector<std::string> backends_;
  VariantMetricFamilies families_;
  Family<Counter>& fallbacks_;
  std::mutex publish_mutex_;  // one writer at a time; readers never take it
  Snapshot<DeploymentTable> table_;
};

// A fallback step's default answer ({"outputs": [...]} in V2's JSON) decoded into a response.
Status decode_default_answer(std::string_view answer_json, InferResponse& answer);

// The HTTP statuses an injected abort may answer with.
bool is_abort_status(int status);
// Checks a fault's percentages, delay and abort status; `where` names it in the message.
Status validate_fault(const FaultSpec& fault, const std::string& where);

}  // namespace seraph
