#include "control/rollout_controller.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/model_manager.h"

namespace seraph {
namespace {

constexpr const char* kActor = "rollout-controller";

std::string subject_of(int64_t id) { return fmt::format("rollout/{}", id); }

bool is_live(const std::string& state) { return state == "running" || state == "paused"; }

const VariantRecord* with_role(const std::vector<VariantRecord>& variants, std::string_view role,
                               bool with_traffic = false) {
  for (const auto& v : variants) {
    if (v.role == role && (!with_traffic || v.weight > 0)) return &v;
  }
  return nullptr;
}

// The deployment's variants with the baseline and the candidate at these shares; shadows stay.
std::vector<VariantRecord> split(const VariantRecord& baseline, const VariantRecord& candidate,
                                 const std::vector<VariantRecord>& current, double candidate_percent) {
  std::vector<VariantRecord> out;
  out.push_back(baseline);
  out.back().weight = 100 - candidate_percent;
  out.push_back(candidate);
  out.back().weight = candidate_percent;
  for (const auto& v : current) {
    if (v.role == "shadow") out.push_back(v);
  }
  return out;
}

// The candidate as a variant: a variant of the same version already in the deployment (waiting
// at weight 0, say) lends it its injected faults.
VariantRecord candidate_variant(const std::vector<VariantRecord>& current, const std::string& model, int64_t version) {
  VariantRecord candidate{"candidate", model, version, 0, "candidate", {}};
  for (const auto& v : current) {
    if (v.model == model && v.version == version && v.role != "shadow") candidate.fault = v.fault;
  }
  return candidate;
}

// Only `served` (as the baseline, at full weight) and the shadows.
std::vector<VariantRecord> only(VariantRecord served, const std::vector<VariantRecord>& current) {
  served.name = "baseline";
  served.role = "baseline";
  served.weight = 100;
  std::vector<VariantRecord> out{served};
  for (const auto& v : current) {
    if (v.role == "shadow") out.push_back(v);
  }
  return out;
}

// Reads a spec as the registry stores it (RolloutSpec::to_json).
Status parse_stored_spec(const std::string& json, RolloutSpec& spec) {
  simdjson::dom::parser parser;
  simdjson::dom::element object;
  if (auto error = parser.parse(json).get(object)) {
    return invalid_argument(std::string("the spec is not JSON: ") + simdjson::error_message(error));
  }
  if (!object.is_object()) return invalid_argument("the spec is not a JSON object");
  return RolloutSpec::parse(object, spec, UnknownMembers::kIgnore);
}

}  // namespace

std::string RolloutSpec::to_json() const {
  rapidjson::StringBuffer buffer;
  RecordWriter w(buffer);
  w.StartObject();
  w.Key("steps");
  w.StartArray();
  for (double s : steps) w.Double(s);
  w.EndArray();
  w.Key("step_min_ms");
  w.Int64(step_min_ms);
  w.Key("step_min_requests");
  w.Int64(step_min_requests);
  w.Key("keep_previous_ms");
  w.Int64(keep_previous_ms);
  w.Key("analysis");
  w.StartObject();
  w.Key("alpha");
  w.Double(analysis.alpha);
  w.Key("latency_tolerance");
  w.Double(analysis.latency_tolerance);
  w.Key("latency_slack_ms");
  w.Double(analysis.latency_slack_ms);
  w.Key("min_requests");
  w.Int64(analysis.min_requests);
  w.Key("min_shadow_agreement");
  w.Double(analysis.min_shadow_agreement);
  w.Key("min_shadow_comparisons");
  w.Int64(analysis.min_shadow_comparisons);
  w.Key("min_success_rate");
  w.Double(analysis.min_success_rate);
  w.Key("max_p99_ms");
  w.Double(analysis.max_p99_ms);
  w.EndObject();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Status RolloutSpec::parse(simdjson::dom::element object, RolloutSpec& spec, UnknownMembers unknown) {
  simdjson::dom::element steps;
  if (!object.at_key("steps").get(steps)) {
    simdjson::dom::array items;
    if (steps.get(items)) return invalid_argument("steps must be an array of percentages");
    spec.steps.clear();
    for (simdjson::dom::element item : items) {
      double percent = 0;
      if (item.get(percent)) return invalid_argument("steps must be an array of percentages");
      spec.steps.push_back(percent);
    }
  }
  for (Status s : {read_integer(object, "step_min_ms", "", spec.step_min_ms),
                   read_integer(object, "step_min_requests", "", spec.step_min_requests),
                   read_integer(object, "keep_previous_ms", "", spec.keep_previous_ms)}) {
    if (!s.is_ok()) return s;
  }
  simdjson::dom::element analysis;
  if (object.at_key("analysis").get(analysis)) return {};
  if (!analysis.is_object()) return invalid_argument("analysis must be an object");
  if (Status s = check_members(analysis, "analysis",
                               {"alpha", "latency_tolerance", "latency_slack_ms", "min_requests", "min_shadow_agreement",
                                "min_shadow_comparisons", "min_success_rate", "max_p99_ms"},
                               unknown);
      !s.is_ok()) {
    return s;
  }
  AnalysisSettings& a = spec.analysis;
  for (Status s : {read_number(analysis, "alpha", "analysis", a.alpha),
                   read_number(analysis, "latency_tolerance", "analysis", a.latency_tolerance),
                   read_number(analysis, "latency_slack_ms", "analysis", a.latency_slack_ms),
                   read_integer(analysis, "min_requests", "analysis", a.min_requests),
                   read_number(analysis, "min_shadow_agreement", "analysis", a.min_shadow_agreement),
                   read_integer(analysis, "min_shadow_comparisons", "analysis", a.min_shadow_comparisons),
                   read_number(analysis, "min_success_rate", "analysis", a.min_success_rate),
                   read_number(analysis, "max_p99_ms", "analysis", a.max_p99_ms)}) {
    if (!s.is_ok()) return s;
  }
  return {};
}

Status validate_rollout(const RolloutRequest& r) {
  if (r.strategy != "immediate" && r.strategy != "blue_green" && r.strategy != "canary") {
    return invalid_argument(fmt::format("strategy must be immediate, blue_green or canary, got '{}'", r.strategy));
  }
  if (!is_valid_model_name(r.model)) return invalid_argument("candidate.model must name a model");
  if (r.version < 1) return invalid_argument("candidate.version must be a positive integer");
  const RolloutSpec& s = r.spec;
  if (s.steps.empty() || s.steps.size() > 100) return invalid_argument("steps must list 1 to 100 percentages");
  double previous = 0;
  for (double step : s.steps) {
    if (!(step > previous && step < 100)) {
      return invalid_argument("steps must rise strictly, each above 0 and below 100 (the last step is followed by promotion)");
    }
    previous = step;
  }
  if (s.step_min_ms < 0 || s.keep_previous_ms < 0) return invalid_argument("step_min_ms and keep_previous_ms must not be negative");
  const AnalysisSettings& a = s.analysis;
  if (!(a.alpha > 0 && a.alpha < 0.5)) return invalid_argument("analysis.alpha must be above 0 and below 0.5");
  if (!(a.latency_tolerance >= 0 && a.latency_tolerance <= 10)) return invalid_argument("analysis.latency_tolerance must be from 0 to 10");
  if (!(a.latency_slack_ms >= 0 && a.latency_slack_ms <= 60000)) return invalid_argument("analysis.latency_slack_ms must be from 0 to 60000");
  if (a.min_requests < 1) return invalid_argument("analysis.min_requests must be at least 1");
  if (s.step_min_requests < a.min_requests) {
    return invalid_argument("step_min_requests must be at least analysis.min_requests (a step ends with a look at the data)");
  }
  if (!(a.min_shadow_agreement >= 0 && a.min_shadow_agreement <= 1)) return invalid_argument("analysis.min_shadow_agreement must be from 0 to 1");
  if (!(a.min_success_rate >= 0 && a.min_success_rate <= 100)) return invalid_argument("analysis.min_success_rate must be from 0 to 100");
  if (a.max_p99_ms < 0 || a.min_shadow_comparisons < 0) return invalid_argument("analysis.max_p99_ms and min_shadow_comparisons must not be negative");
  return {};
}

RolloutController::RolloutController(ControlContext& context, MetricsRegistry& metrics)
    : context_(context),
      events_(metrics.counter("seraph_rollout_events_total",
                              "Rollout steps and decisions recorded, by kind (rollout.step, rollout.rolled_back, ...).")) {}

void RolloutController::report(const Status& status, std::string_view operation) {
  if (!status.is_ok()) context_.report(operation, status);
}

void RolloutController::count(const Active& active, const std::string& kind) {
  events_.get({{"deployment", active.record.deployment}, {"environment", active.record.environment}, {"event", kind}}).add();
}

bool RolloutController::active_on(const std::string& environment, const std::string& deployment) const {
  for (const auto& [id, a] : active_) {
    if (a.record.environment == environment && a.record.deployment == deployment) return true;
  }
  return false;
}

Status RolloutController::start(const RolloutRequest& request, RolloutRecord& out) {
  if (Status s = validate_rollout(request); !s.is_ok()) return s;
  if (!context_.deployments.is_environment(request.environment)) {
    return invalid_argument(fmt::format("unknown environment '{}'", request.environment));
  }
  if (active_on(request.environment, request.deployment)) {
    return conflict(fmt::format("a rollout is already in progress on {}/{}", request.environment, request.deployment));
  }
  DeploymentRecord deployment;
  if (Status s = context_.registry.get_deployment(request.deployment, request.environment, deployment); !s.is_ok()) {
    return s;
  }
  const VariantRecord* baseline = with_role(deployment.variants, "baseline", true);
  if (!baseline) return conflict("the deployment has no baseline variant with traffic to roll out from");
  if (baseline->model == request.model && baseline->version == request.version) {
    return conflict(fmt::format("{} version {} is already the baseline", request.model, request.version));
  }
  Status found;
  auto target = context_.models.find(request.model, request.version, found);
  if (found.code() == StatusCode::kNotFound) return found;
  const VariantRecord candidate = candidate_variant(deployment.variants, request.model, request.version);
  const int64_t now = unix_ms();
  Active active;
  RolloutRecord& r = active.record;
  r.deployment = request.deployment;
  r.environment = request.environment;
  r.strategy = request.strategy;
  r.candidate_model = request.model;
  r.candidate_version = request.version;
  r.state = "running";
  r.step_started_ms = now;
  r.spec_json = request.spec.to_json();
  active.spec = request.spec;

  DeploymentRecord next = deployment;
  if (request.strategy == "immediate") {
    next.variants = only(candidate, deployment.variants);
    r.state = "succeeded";
    r.reason = "immediate: all traffic moved to the candidate";
  } else if (request.strategy == "blue_green") {
    // Switch at once when the candidate is warm already; otherwise warm it up first (step 0).
    const bool warm = target && target->state() == ModelState::kReady;
    r.step_index = warm ? 1 : 0;
    if (warm) next.variants = split(*baseline, candidate, deployment.variants, 100);
  } else {
    next.variants = split(*baseline, candidate, deployment.variants, request.spec.steps.front());
  }
  RegistryChange change;
  change.deployment = next;
  change.rollout = r;
  // The registry assigns the rollout's id in this change, so the event names the deployment.
  change.events.push_back({0, 0, "admin", "rollout.started", fmt::format("deployment/{}/{}", r.environment, r.deployment),
                           fmt::format(R"({{"deployment":"{}","environment":"{}","strategy":"{}","candidate":{{"model":"{}","version":{}}},"baseline":{{"model":"{}","version":{}}},"spec":{}}})",
                                       r.deployment, r.environment, r.strategy, r.candidate_model, r.candidate_version,
                                       baseline->model, baseline->version, r.spec_json)});
  ChangeResult result;
  if (Status s = context_.commit(change, &result); !s.is_ok()) return s;
  r.id = result.rollout_id;
  r.created_ms = r.updated_ms = result.time_ms;
  out = r;
  count(active, "rollout.started");
  if (r.state == "running") {
    active.schedule = LookSchedule(active.spec.analysis.min_requests);
    auto [it, inserted] = active_.emplace(r.id, std::move(active));
    start_step(it->second);
    if (r.strategy == "blue_green" && r.step_index == 0) warm_up(it->second);
  }
  return {};
}

void RolloutController::warm_up(Active& active) {
  auto outcome = std::make_shared<std::promise<Status>>();
  active.load_outcome = outcome->get_future();
  context_.models.load_version(active.record.candidate_model, active.record.candidate_version,
                               [outcome](Status status) { outcome->set_value(std::move(status)); });
}

void RolloutController::tick_blue_green(Active& active, int64_t now) {
  if (active.record.step_index >= 1) {
    if (now - active.record.step_started_ms >= active.spec.keep_previous_ms) {
      report(
          finish_promotion(active, fmt::format(R"({{"kept_previous_ms":{}}})", active.spec.keep_previous_ms), kActor),
          "rollout.succeeded");
    }
    return;
  }
  if (!active.load_outcome.valid()) warm_up(active);  // resumed after a restart
  if (active.load_outcome.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
  const Status loaded = active.load_outcome.get();
  if (!loaded.is_ok()) {
    report(finish_rollback(active, "the candidate failed to load: " + loaded.message(),
                           json_object({{"error", loaded.message()}}), kActor),
           "rollout.rolled_back");
    return;
  }
  DeploymentRecord deployment;
  if (Status s = context_.registry.get_deployment(active.record.deployment, active.record.environment, deployment);
      !s.is_ok()) {
    return report(s, "rollout.switched");
  }
  const VariantRecord* baseline = with_role(deployment.variants, "baseline", true);
  if (!baseline)
    return report(conflict("the deployment has no baseline variant with traffic to switch from"), "rollout.switched");
  const RolloutRecord before = active.record;
  active.record.step_index = 1;
  active.record.step_started_ms = now;
  const VariantRecord candidate =
      candidate_variant(deployment.variants, active.record.candidate_model, active.record.candidate_version);
  if (Status s = record(active, split(*baseline, candidate, deployment.variants, 100), "rollout.switched",
                        R"({"candidate":"loaded and warmed up"})", kActor);
      !s.is_ok()) {
    active.record = before;
    report(s, "rollout.switched");
  }
}

void RolloutController::start_step(Active& active) {
  active.schedule.start_step();
  auto table = context_.deployments.snapshot();
  if (const LiveDeployment* d = table->find(active.record.environment, active.record.deployment)) {
    for (const auto& v : d->variants) v.stats->reset_window();
  }
}

Status RolloutController::find_active(int64_t id, Active*& active) {
  auto it = active_.find(id);
  if (it != active_.end()) {
    active = &it->second;
    return {};
  }
  RolloutRecord record;
  if (Status s = context_.registry.get_rollout(id, record); !s.is_ok()) return s;
  return conflict(fmt::format("rollout {} has ended ({})", id, record.state));
}

Status RolloutController::record(Active& active, std::vector<VariantRecord> variants, std::string kind,
                                 std::string details, std::string actor) {
  RegistryChange change;
  if (!variants.empty()) {
    DeploymentRecord deployment;
    if (Status s = context_.registry.get_deployment(active.record.deployment, active.record.environment, deployment);
        !s.is_ok()) {
      return s;
    }
    deployment.variants = std::move(variants);
    change.deployment = std::move(deployment);
  }
  active.record.updated_ms = unix_ms();
  change.rollout = active.record;
  change.events.push_back({0, 0, std::move(actor), kind, subject_of(active.record.id), std::move(details)});
  if (Status s = context_.commit(change); !s.is_ok()) return s;
  count(active, kind);
  return {};
}

Status RolloutController::finish_rollback(Active& active, const std::string& reason, std::string details,
                                          std::string actor) {
  DeploymentRecord deployment;
  if (Status s = context_.registry.get_deployment(active.record.deployment, active.record.environment, deployment);
      !s.is_ok()) {
    return s;
  }
  const VariantRecord* baseline = with_role(deployment.variants, "baseline");
  if (!baseline) baseline = &deployment.variants.front();
  std::vector<VariantRecord> variants = only(*baseline, deployment.variants);
  const RolloutRecord before = active.record;
  active.record.state = "rolled_back";
  active.record.reason = reason;
  if (Status s = record(active, std::move(variants), "rollout.rolled_back", std::move(details), std::move(actor)); !s.is_ok()) {
    active.record = before;
    return s;
  }
  return {};
}

Status RolloutController::finish_promotion(Active& active, std::string details, std::string actor) {
  DeploymentRecord deployment;
  if (Status s = context_.registry.get_deployment(active.record.deployment, active.record.environment, deployment);
      !s.is_ok()) {
    return s;
  }
  // Promoted by hand before any traffic moved (a blue_green candidate still warming up), the
  // candidate is not in the deployment yet.
  const VariantRecord* present = with_role(deployment.variants, "candidate");
  const VariantRecord candidate =
      present ? *present
              : candidate_variant(deployment.variants, active.record.candidate_model, active.record.candidate_version);
  std::vector<VariantRecord> variants = only(candidate, deployment.variants);
  const RolloutRecord before = active.record;
  active.record.state = "succeeded";
  active.record.reason = actor == kActor ? "promoted: every step passed its analysis" : "promoted by " + actor;
  if (active.record.strategy == "blue_green" && actor == kActor) active.record.reason = "blue-green: the previous version's standby time is over";
  if (Status s = record(active, std::move(variants), "rollout.succeeded", std::move(details), std::move(actor)); !s.is_ok()) {
    active.record = before;
    return s;
  }
  return {};
}

Status RolloutController::pause(int64_t id, RolloutRecord& out) {
  Active* active = nullptr;
  if (Status s = find_active(id, active); !s.is_ok()) return s;
  if (active->record.state == "paused") return conflict(fmt::format("rollout {} is already paused", id));
  active->record.state = "paused";
  if (Status s = record(*active, {}, "rollout.paused", "{}", "admin"); !s.is_ok()) {
    active->record.state = "running";
    return s;
  }
  out = active->record;
  return {};
}

Status RolloutController::resume(int64_t id, RolloutRecord& out) {
  Active* active = nullptr;
  if (Status s = find_active(id, active); !s.is_ok()) return s;
  if (active->record.state != "paused") return conflict(fmt::format("rollout {} is not paused", id));
  active->record.state = "running";
  active->record.step_started_ms = unix_ms();  // the step's hold starts again, on fresh data
  if (Status s = record(*active, {}, "rollout.resumed", "{}", "admin"); !s.is_ok()) {
    active->record.state = "paused";
    return s;
  }
  start_step(*active);
  out = active->record;
  return {};
}

Status RolloutController::promote(int64_t id, RolloutRecord& out) {
  Active* active = nullptr;
  if (Status s = find_active(id, active); !s.is_ok()) return s;
  if (Status s = finish_promotion(*active, "{}", "admin"); !s.is_ok()) return s;
  out = active->record;
  active_.erase(id);
  return {};
}

Status RolloutController::rollback(int64_t id, RolloutRecord& out) {
  Active* active = nullptr;
  if (Status s = find_active(id, active); !s.is_ok()) return s;
  if (Status s = finish_rollback(*active, "rolled back by admin", "{}", "admin"); !s.is_ok()) return s;
  out = active->record;
  active_.erase(id);
  return {};
}

Status RolloutController::resume_all() {
  std::vector<RolloutRecord> rollouts;
  if (Status s = context_.registry.list_rollouts(rollouts); !s.is_ok()) return s;
  for (RolloutRecord& r : rollouts) {
    if (!is_live(r.state)) continue;
    Active active;
    // Every look wrote one event; alpha spending continues from the next look.
    std::vector<EventRecord> events;
    if (Status s = context_.registry.list_events(0, 1'000'000, subject_of(r.id), events); !s.is_ok()) return s;
    for (const EventRecord& e : events) {
      if (e.kind == "rollout.analysis" || e.kind == "rollout.step") ++active.looks;
    }
    const Status spec = parse_stored_spec(r.spec_json, active.spec);
    active.schedule = LookSchedule(active.spec.analysis.min_requests);
    active.record = std::move(r);
    Active& resumed = active_.emplace(active.record.id, std::move(active)).first->second;
    if (!spec.is_ok()) {
      report(spec, "rollout.resumed");
      const std::string reason = "its stored spec cannot be read: " + spec.message();
      if (Status s = finish_rollback(resumed, reason, json_object({{"error", spec.message()}}), kActor); !s.is_ok())
        return s;
      active_.erase(resumed.record.id);
    }
  }
  return {};
}

void RolloutController::tick() {
  const int64_t now = unix_ms();
  for (auto it = active_.begin(); it != active_.end();) {
    Active& active = it->second;
    if (active.record.state == "running") {
      if (active.record.strategy == "canary") {
        tick_canary(active, now);
      } else {
        tick_blue_green(active, now);
      }
    }
    it = is_live(active.record.state) ? std::next(it) : active_.erase(it);
  }
}

void RolloutController::tick_canary(Active& active, int64_t now) {
  auto table = context_.deployments.snapshot();
  const LiveDeployment* d = table->find(active.record.environment, active.record.deployment);
  if (!d) return;
  const LiveVariant* baseline = d->by_role_or_name("baseline");
  const LiveVariant* candidate = d->by_role_or_name("candidate");
  if (!baseline || !candidate) return;
  const VariantStats::Window wb = baseline->stats->window();
  const VariantStats::Window wc = candidate->stats->window();
  const bool step_done = now - active.record.step_started_ms >= active.spec.step_min_ms &&
                         wc.requests >= active.spec.step_min_requests;
  if (!active.schedule.due(wc.requests, step_done)) return;

  std::optional<VariantStats::Window> ws;
  if (const LiveVariant* shadow = d->shadow()) ws = shadow->stats->window();
  const AnalysisResult result = analyse_step(wb, wc, ws ? &*ws : nullptr, active.spec.analysis, active.looks + 1);
  ++active.looks;
  active.schedule.looked(wc.requests);
  if (result.verdict == Verdict::kRollback) {
    report(finish_rollback(active, result.reason, result.to_json(), kActor), "rollout.rolled_back");
  } else if (step_done && result.verdict == Verdict::kPass) {
    const size_t next = static_cast<size_t>(active.record.step_index) + 1;
    if (next >= active.spec.steps.size()) {
      report(finish_promotion(active, result.to_json(), kActor), "rollout.succeeded");
      return;
    }
    DeploymentRecord deployment;
    if (Status s = context_.registry.get_deployment(active.record.deployment, active.record.environment, deployment);
        !s.is_ok()) {
      return report(s, "rollout.step");
    }
    const VariantRecord* b = with_role(deployment.variants, "baseline");
    const VariantRecord* c = with_role(deployment.variants, "candidate");
    if (!b || !c) return report(conflict("the deployment lost its baseline or candidate variant"), "rollout.step");
    const RolloutRecord before = active.record;
    active.record.step_index = static_cast<int>(next);
    active.record.step_started_ms = now;
    if (Status s = record(active, split(*b, *c, deployment.variants, active.spec.steps[next]), "rollout.step",
                          result.to_json(), kActor);
        !s.is_ok()) {
      active.record = before;
      return report(s, "rollout.step");
    }
    start_step(active);
  } else {
    report(record(active, {}, "rollout.analysis", result.to_json(), kActor), "rollout.analysis");
  }
}

}  // namespace seraph
