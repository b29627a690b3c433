#include "control/deployments.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/priority.h"
#include "models/model_manager.h"
#include "wire/v2_infer.h"

namespace seraph {

const LiveVariant& LiveDeployment::pick(double u) const {
  const double point = u * cumulative_.back().first;
  for (const auto& [upto, index] : cumulative_) {
    if (point < upto) return variants[index];
  }
  return variants[cumulative_.back().second];
}

const LiveVariant* LiveDeployment::by_role_or_name(std::string_view role) const {
  for (const auto& v : variants) {
    if (v.record.role == role && v.record.role != "shadow") return &v;
  }
  for (const auto& v : variants) {
    if (v.record.name == role && v.record.role != "shadow") return &v;
  }
  return nullptr;
}

const LiveVariant* LiveDeployment::serving_version(int64_t version) const {
  for (const auto& v : variants) {
    if (v.record.version == version && v.record.role != "shadow") return &v;
  }
  return nullptr;
}

const LiveDeployment* DeploymentTable::find(std::string_view environment, std::string_view name) const {
  auto it = deployments.find(std::pair<std::string_view, std::string_view>(environment, name));
  return it == deployments.end() ? nullptr : &it->second;
}

Deployments::Deployments(MetricsRegistry& metrics, std::string default_environment,
                         std::vector<std::string> environments, std::vector<std::string> backends)
    : default_environment_(std::move(default_environment)),
      environments_(std::move(environments)),
      backends_(std::move(backends)),
      families_(metrics),
      fallbacks_(metrics.counter("seraph_fallbacks_total",
                                 "Fallback steps tried for failed requests, by deployment, kind and outcome "
                                 "(served: the step answered; failed: it could not).")),
      table_(std::make_shared<const DeploymentTable>()) {}

bool Deployments::is_environment(std::string_view environment) const {
  return std::find(environments_.begin(), environments_.end(), environment) != environments_.end();
}

void Deployments::publish(const DeploymentRecord& record, int64_t experiment_id) {
  std::lock_guard lock(publish_mutex_);
  auto current = snapshot();
  const LiveDeployment* previous = current->find(record.environment, record.name);

  LiveDeployment live;
  live.name = record.name;
  live.environment = record.environment;
  live.sticky_header = record.sticky_header;
  live.policy = record.policy;
  live.experiment_id = experiment_id;
  double total = 0;
  for (const VariantRecord& v : record.variants) {
    std::shared_ptr<VariantStats> stats;
    if (previous) {
      for (const LiveVariant& old : previous->variants) {
        const VariantRecord& o = old.record;
        if (o.name == v.name && o.model == v.model && o.version == v.version && o.backend == v.backend) stats = old.stats;
      }
    }
    if (!stats) {
      stats = std::make_shared<VariantStats>(
          families_, Labels{{"deployment", record.name}, {"environment", record.environment}, {"variant", v.name},
                            {"model", v.model}, {"version", std::to_string(v.version)}});
    }
    stats->set_weight(v.weight);
    const size_t index = live.variants.size();
    live.variants.push_back({v, std::move(stats)});
    if (v.role == "shadow") {
      live.shadow_ = index;
    } else if (v.weight > 0) {
      total += v.weight;
      live.cumulative_.emplace_back(total, index);
    }
  }

  for (const FallbackStep& step : record.policy.fallback) {
    LiveFallbackStep& live_step = live.fallback.emplace_back();
    live_step.kind = step.kind;
    const char* kind = "variant";
    switch (step.kind) {
      case FallbackStep::Kind::kVariant:
        for (size_t i = 0; i < record.variants.size(); ++i) {
          if (record.variants[i].name == step.variant) live_step.variant = i;
        }
        live_step.label = "variant:" + step.variant;
        break;
      case FallbackStep::Kind::kStaleCache:
        kind = "stale_cache";
        live_step.label = kind;
        break;
      case FallbackStep::Kind::kDefaultAnswer: {
        kind = "default_answer";
        live_step.label = kind;
        auto answer = std::make_shared<InferResponse>();
        // The record is valid (validate_deployment decoded this answer): it decodes here too.
        if (decode_default_answer(step.answer_json, *answer).is_ok()) {
          answer->model = record.name;
          live_step.answer = std::move(answer);
        }
        break;
      }
    }
    Labels labels{{"deployment", record.name}, {"environment", record.environment}, {"kind", kind}};
    labels.emplace_back("outcome", "served");
    live_step.served = &fallbacks_.get(labels);
    labels.back().second = "failed";
    live_step.failed = &fallbacks_.get(labels);
  }

  if (previous) {
    for (const LiveVariant& old : previous->variants) {
      const bool kept = std::any_of(live.variants.begin(), live.variants.end(),
                                    [&](const LiveVariant& v) { return v.stats == old.stats; });
      if (!kept) old.stats->set_weight(0);
    }
  }
  auto next = std::make_shared<DeploymentTable>(*current);
  next->deployments.insert_or_assign({record.environment, record.name}, std::move(live));
  table_.publish(std::move(next));
}

Status decode_default_answer(std::string_view answer_json, InferResponse& answer) {
  answer = {};
  return parse_v2_outputs(answer_json, answer.outputs);
}

bool is_abort_status(int status) { return status == 429 || status == 500 || status == 503 || status == 504; }

Status validate_fault(const FaultSpec& f, const std::string& where) {
  auto percent = [](double p) { return std::isfinite(p) && p >= 0 && p <= 100; };
  if (!percent(f.delay_percent) || !percent(f.abort_percent)) {
    return invalid_argument(fmt::format("{} percentages must be from 0 to 100", where));
  }
  if (!std::isfinite(f.delay_ms) || f.delay_ms < 0 || f.delay_ms > 600000) {
    return invalid_argument(fmt::format("{}.delay_ms must be from 0 to 600000", where));
  }
  if (!is_abort_status(f.abort_status)) {
    return invalid_argument(fmt::format("{}.abort_status must be 429, 500, 503 or 504, got {}", where, f.abort_status));
  }
  return {};
}

namespace {

// A request walks its deployment's fallback chain one step after another within its deadline.
constexpr size_t kMaxFallbackSteps = 8;

Status validate_policy(const DeploymentRecord& record) {
  const DeploymentPolicy& p = record.policy;
  if (Status s = validate_priority_setting(p.priority); !s.is_ok()) return s;
  if (Status s = validate_fault(p.fault, "fault"); !s.is_ok()) return s;
  if (p.fallback.size() > kMaxFallbackSteps) {
    return invalid_argument(fmt::format("fallback may hold at most {} steps", kMaxFallbackSteps));
  }
  for (size_t i = 0; i < p.fallback.size(); ++i) {
    const FallbackStep& step = p.fallback[i];
    if (step.kind == FallbackStep::Kind::kDefaultAnswer) {
      InferResponse answer;
      if (Status s = decode_default_answer(step.answer_json, answer); !s.is_ok()) {
        return invalid_argument(fmt::format("fallback[{}].default_answer: {}", i, s.message()));
      }
    }
    if (step.kind != FallbackStep::Kind::kVariant) continue;
    auto it = std::find_if(record.variants.begin(), record.variants.end(),
                           [&](const VariantRecord& v) { return v.name == step.variant; });
    if (it == record.variants.end() || it->role == "shadow") {
      return invalid_argument(fmt::format("fallback[{}].variant '{}' is not a served variant of the deployment", i,
                                          step.variant));
    }
  }
  return {};
}

}  // namespace

Status validate_deployment(const DeploymentRecord& record, const std::vector<std::string>& environments,
                           const std::vector<std::string>& backends) {
  if (!is_valid_model_name(record.name)) {
    return invalid_argument(fmt::format("deployment name '{}' may hold only letters, digits, '_', '-' and '.'", record.name));
  }
  if (std::find(environments.begin(), environments.end(), record.environment) == environments.end()) {
    return invalid_argument(fmt::format("unknown environment '{}' (configured: {})", record.environment,
                                        fmt::join(environments, ", ")));
  }
  for (char c : record.sticky_header) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return invalid_argument(fmt::format("sticky_header '{}' is not a valid header name", record.sticky_header));
    }
  }
  if (record.variants.empty()) return invalid_argument("a deployment needs at least one variant");
  std::set<std::string, std::less<>> names;
  int shadows = 0;
  double served_weight = 0;
  for (size_t i = 0; i < record.variants.size(); ++i) {
    const VariantRecord& v = record.variants[i];
    const std::string where = fmt::format("variants[{}]", i);
    if (!is_valid_model_name(v.name)) return invalid_argument(fmt::format("{}.name '{}' is not a valid name", where, v.name));
    if (!names.insert(v.name).second) return invalid_argument(fmt::format("{}.name '{}' is used twice", where, v.name));
    if (!is_valid_model_name(v.model)) return invalid_argument(fmt::format("{}.model '{}' is not a valid model name", where, v.model));
    if (v.version < 1) return invalid_argument(fmt::format("{}.version must be a positive integer", where));
    if (!v.backend.empty() && std::find(backends.begin(), backends.end(), v.backend) == backends.end()) {
      return invalid_argument(
          fmt::format("{}.backend '{}' is not a configured backend (configured: {})", where, v.backend,
                      backends.empty() ? std::string("none") : fmt::format("{}", fmt::join(backends, ", "))));
    }
    if (v.role != "baseline" && v.role != "candidate" && v.role != "shadow") {
      return invalid_argument(fmt::format("{}.role must be baseline, candidate or shadow, got '{}'", where, v.role));
    }
    if (!std::isfinite(v.weight) || v.weight < 0 || v.weight > 1e6) {
      return invalid_argument(fmt::format("{}.weight must be a number from 0 to 1000000", where));
    }
    if (v.role == "shadow") {
      if (++shadows > 1) return invalid_argument("a deployment may have at most one shadow variant");
      if (v.weight > 100) return invalid_argument(fmt::format("{}.weight of a shadow is the percentage of requests copied: 0 to 100", where));
    } else {
      served_weight += v.weight;
    }
    if (Status s = validate_fault(v.fault, where + ".fault"); !s.is_ok()) return s;
  }
  if (served_weight <= 0) return invalid_argument("at least one baseline or candidate variant needs a weight above 0");
  return validate_policy(record);
}

}  // namespace seraph
