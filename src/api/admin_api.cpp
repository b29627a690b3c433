#include "api/admin_api.h"

#include <cmath>

#include <fmt/format.h>

#include "wire/json_reader.h"
#include "api/json_writer.h"
#include "api/url.h"
#include "control/records_json.h"
#include "guards/rate_limit_rules.h"
#include "models/artifact_digest.h"
#include "models/model_manager.h"
#include "resilience/circuit_breakers.h"
#include "resilience/backend_faults.h"

namespace seraph {
namespace {

// Every body the admin API reads is checked for members it does not know: a misspelt key is a 400.
constexpr UnknownMembers kReject = UnknownMembers::kReject;

HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse r = error_response(405, fmt::format("method not allowed here; use {}", allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// A JSON answer written by `write`.
template <class Write>
HttpResponse json(unsigned status, Write&& write) {
  rapidjson::StringBuffer buffer;
  RecordWriter w(buffer);
  write(w);
  return json_response(status, std::string(buffer.GetString(), buffer.GetSize()));
}

// {"<key>": [...]}: the records `read` fills, or the error it answers (the registry could not look).
template <class Record, class Read>
HttpResponse list_answer(std::string_view key, Read read, void (*write)(RecordWriter&, const Record&)) {
  std::vector<Record> records;
  if (Status s = read(records); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) {
    w.StartObject();
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.StartArray();
    for (const Record& record : records) write(w, record);
    w.EndArray();
    w.EndObject();
  });
}

Status parse_object(std::string_view body, JsonValue& root) {
  if (Status s = parse_json(body, root); !s.is_ok()) return s;
  if (!root.is_object()) return invalid_argument("the request body must be a JSON object");
  return {};
}

void write_rate_limit_rule(RecordWriter& w, const RateLimitRuleSettings& r, bool from_admin) {
  static constexpr std::string_view kKeys[] = {"client", "subject", "tenant", "header:", "deployment"};
  w.StartObject();
  w.Key("name");
  write_string(w, r.rule.name);
  w.Key("limit");
  w.Int64(r.rule.limit);
  w.Key("period_ms");
  w.Int64(r.rule.period.count());
  w.Key("burst");
  w.Int64(r.rule.burst);
  w.Key("key");
  write_string(w, std::string(kKeys[static_cast<size_t>(r.key)]) + r.header);
  w.Key("cost");
  write_string(w, r.cost_rows ? "rows" : "request");
  w.Key("deployments");
  w.StartArray();
  for (const std::string& d : r.deployments) write_string(w, d);
  w.EndArray();
  w.Key("source");
  write_string(w, from_admin ? "admin" : "config");
  w.EndObject();
}

bool is_get(const HttpRequest& r) { return r.method == Method::kGet || r.method == Method::kHead; }

void write_live(RecordWriter& w, const LiveDeployment& d) {
  w.StartArray();
  for (const LiveVariant& v : d.variants) {
    const VariantStats::Window window = v.stats->window();
    w.StartObject();
    w.Key("variant");
    write_string(w, v.record.name);
    w.Key("version");
    w.Int64(v.record.version);
    w.Key("weight");
    w.Double(v.record.weight);
    w.Key("requests");
    w.Int64(window.requests);
    w.Key("errors");
    w.Int64(window.errors);
    if (v.record.role == "shadow") {
      w.Key("shadow_compared");
      w.Int64(window.shadow_compared);
      w.Key("shadow_agreed");
      w.Int64(window.shadow_agreed);
    }
    w.EndObject();
  }
  w.EndArray();
}

// One breaker for GET /admin/v1/circuit-breakers; times are Unix milliseconds.
void write_breaker(RecordWriter& w, const CircuitBreaker& breaker, const CircuitBreaker::Snapshot& s, TimePoint now) {
  w.StartObject();
  w.Key("name");
  write_string(w, breaker.name());
  w.Key("state");
  write_string(w, breaker_state_name(s.state));
  w.Key("calls");  // in the window; while half-open, the probes that have ended
  w.Int(s.calls);
  w.Key("failure_rate_percent");
  w.Double(s.failure_rate_percent);
  w.Key("slow_rate_percent");
  w.Double(s.slow_rate_percent);
  w.Key("rejected");
  w.Uint64(s.rejected);
  w.Key("opened_at_ms");
  if (s.opened_at == TimePoint{}) {
    w.Null();
  } else {
    w.Int64(to_unix_ms(s.opened_at, now));
  }
  w.Key("next_probe_ms");
  if (s.state == BreakerState::kOpen) {
    w.Int64(to_unix_ms(s.open_until, now));
  } else {
    w.Null();
  }
  w.EndObject();
}

}  // namespace

HttpResponse AdminApi::handle(const HttpRequest& request, const std::vector<std::string>& seg, std::string_view query) {
  if (seg.size() < 3 || seg[1] != "v1") return error_response(404, "the admin API lives under /admin/v1/");
  const std::string& area = seg[2];
  if (area == "models") return models(request, seg);
  if (area == "deployments") return deployments(request, seg, query);
  if (area == "rollouts") return rollouts(request, seg);
  if (area == "experiments") return experiments(request, seg);
  if (area == "events" && seg.size() == 3) return is_get(request) ? events(query) : method_not_allowed("GET");
  if (area == "api-keys") return api_keys(request, seg);
  if (area == "rate-limits") return rate_limit_rules(request, seg);
  if (area == "circuit-breakers") return circuit_breakers(request, seg);
  if (area == "backends") return backend_fault(request, seg);
  return error_response(404, fmt::format("no admin endpoint /{}", fmt::join(seg, "/")));
}

HttpResponse AdminApi::models(const HttpRequest& request, const std::vector<std::string>& seg) {
  Registry& registry = control_.registry();
  auto list = [&](const std::string& model) {
    return list_answer(
        "versions", [&](auto& out) { return registry.list_versions(model, out); }, write_version);
  };
  if (seg.size() == 3) return is_get(request) ? list("") : method_not_allowed("GET");
  if (seg.size() < 5 || seg[4] != "versions" || seg.size() > 7) return error_response(404, "no such admin endpoint");
  const std::string& model = seg[3];
  if (seg.size() == 5) {
    if (is_get(request)) return list(model);
    if (request.method != Method::kPost) return method_not_allowed("GET, POST");
    JsonValue body;
    if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
    ModelVersionRecord record;
    record.model = model;
    int64_t parent = 0;
    for (Status s : {check_members(body, "",
                                   {"version", "description", "runtime", "artifact_sha256", "parent_version", "tags",
                                    "metrics"},
                                   kReject),
                     read_integer(body, "version", "", record.version), read_string(body, "description", "", record.description),
                     read_string(body, "runtime", "", record.runtime), read_string(body, "artifact_sha256", "", record.artifact_sha256),
                     read_integer(body, "parent_version", "", parent)}) {
      if (!s.is_ok()) return error_response(s);
    }
    if (!is_valid_model_name(model)) return error_response(400, "invalid model name");
    if (record.version < 1) return error_response(400, "version must be a positive integer");
    if (parent < 0) return error_response(400, "parent_version must be a positive integer");
    if (parent > 0) record.parent_version = parent;
    if (auto tags = member(body, "tags")) {
      if (Status s = read_tags(*tags, "tags", record.tags); !s.is_ok()) return error_response(s);
    }
    if (auto metrics = member(body, "metrics")) {
      if (Status s = read_metrics(*metrics, "metrics", record.metrics); !s.is_ok()) return error_response(s);
    }
    // What the repository knows fills what the request leaves out; a given digest must match.
    Status found;
    if (auto version = models_.find(model, record.version, found)) {
      if (record.runtime.empty()) record.runtime = version->config().runtime;
      std::string digest;
      if (!version->config().artifact.empty() &&
          sha256_of_file(version->dir() / version->config().artifact, digest).is_ok()) {
        if (!record.artifact_sha256.empty() && record.artifact_sha256 != digest) {
          return error_response(400, fmt::format("artifact_sha256 does not match the repository's artifact ({})", digest));
        }
        record.artifact_sha256 = digest;
      }
    }
    if (!record.artifact_sha256.empty() && !is_sha256_hex(record.artifact_sha256)) {
      return error_response(400, "artifact_sha256 must be 64 lowercase hex digits");
    }
    ModelVersionRecord stored;
    if (Status s = control_.register_version(std::move(record), stored); !s.is_ok()) return error_response(s);
    return json(201, [&](RecordWriter& w) { write_version(w, stored); });
  }
  auto version = parse_positive(seg[5]);
  if (!version) return error_response(404, fmt::format("unknown version '{}'", seg[5]));
  if (seg.size() == 6) {
    if (!is_get(request)) return method_not_allowed("GET");
    ModelVersionRecord record;
    if (Status s = registry.get_version(model, *version, record); !s.is_ok()) return error_response(s);
    return json(200, [&](RecordWriter& w) { write_version(w, record); });
  }
  if (seg[6] != "archive") return error_response(404, "no such admin endpoint");
  if (request.method != Method::kPost) return method_not_allowed("POST");
  ModelVersionRecord archived;
  if (Status s = control_.archive_version(model, *version, archived); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) { write_version(w, archived); });
}

HttpResponse AdminApi::deployments(const HttpRequest& request, const std::vector<std::string>& seg, std::string_view query) {
  Deployments& live = control_.deployments();
  const std::string environment = query_param(query, "environment").value_or(live.default_environment());
  if (!live.is_environment(environment)) {
    return error_response(400, fmt::format("unknown environment '{}' (configured: {})", environment, fmt::join(live.environments(), ", ")));
  }
  if (seg.size() == 3) {
    if (!is_get(request)) return method_not_allowed("GET");
    return list_answer(
        "deployments", [&](auto& out) { return control_.registry().list_deployments(out); }, write_deployment);
  }
  const std::string& name = seg[3];
  if (seg.size() == 4) {
    if (is_get(request)) {
      DeploymentRecord record;
      if (Status s = control_.registry().get_deployment(name, environment, record); !s.is_ok())
        return error_response(s);
      auto table = live.snapshot();
      return json(200, [&](RecordWriter& w) {
        w.StartObject();
        w.Key("deployment");
        write_deployment(w, record);
        if (const LiveDeployment* d = table->find(environment, name)) {
          w.Key("traffic");
          write_live(w, *d);
          w.Key("experiment_id");
          w.Int64(d->experiment_id);
        }
        w.EndObject();
      });
    }
    if (request.method != Method::kPut) return method_not_allowed("GET, PUT");
    JsonValue body;
    if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
    DeploymentRecord record;
    record.name = name;
    record.environment = environment;
    // What GET answers may be sent back: its name and environment must then be the path's and the
    // query's, and its updated_ms is the registry's to set.
    if (Status s = check_members(body, "",
                                 {"name", "environment", "sticky_header", "variants", "priority", "fault", "fallback",
                                  "updated_ms"},
                                 kReject);
        !s.is_ok()) {
      return error_response(s);
    }
    std::string given_name = name, given_environment = environment;
    for (Status s : {read_string(body, "name", "", given_name), read_string(body, "environment", "", given_environment)}) {
      if (!s.is_ok()) return error_response(s);
    }
    if (given_name != name) {
      return error_response(400, fmt::format("name is '{}' in the body, but the path names '{}'", given_name, name));
    }
    if (given_environment != environment) {
      return error_response(400, fmt::format("environment is '{}' in the body, but the request is for '{}' (choose it "
                                             "with ?environment=)",
                                             given_environment, environment));
    }
    if (Status s = read_string(body, "sticky_header", "", record.sticky_header); !s.is_ok()) return error_response(s);
    auto variants = member(body, "variants");
    if (!variants) return error_response(400, "variants is required");
    if (Status s = read_variants(*variants, "variants", record.variants, kReject); !s.is_ok()) return error_response(s);
    if (Status s = read_policy(body, "", record.policy, kReject); !s.is_ok()) return error_response(s);
    DeploymentRecord stored;
    if (Status s = control_.put_deployment(record, stored); !s.is_ok()) return error_response(s);
    return json(200, [&](RecordWriter& w) { write_deployment(w, stored); });
  }
  // The deployment's own faults (/fault), or one variant's (/variants/{v}/fault).
  const bool deployment_fault = seg.size() == 5 && seg[4] == "fault";
  if (deployment_fault || (seg.size() == 7 && seg[4] == "variants" && seg[6] == "fault")) {
    if (request.method != Method::kPut) return method_not_allowed("PUT");
    JsonValue body;
    if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
    FaultSpec fault;
    if (Status s = read_fault(body, "fault", fault, kReject); !s.is_ok()) return error_response(s);
    DeploymentRecord stored;
    const std::string variant = deployment_fault ? "" : seg[5];
    if (Status s = control_.set_fault(environment, name, variant, fault, stored); !s.is_ok()) return error_response(s);
    return json(200, [&](RecordWriter& w) { write_deployment(w, stored); });
  }
  return error_response(404, "no such admin endpoint");
}

HttpResponse AdminApi::rollouts(const HttpRequest& request, const std::vector<std::string>& seg) {
  Registry& registry = control_.registry();
  if (seg.size() == 3) {
    if (is_get(request)) {
      return list_answer(
          "rollouts", [&](auto& out) { return registry.list_rollouts(out); }, write_rollout);
    }
    if (request.method != Method::kPost) return method_not_allowed("GET, POST");
    JsonValue body;
    if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
    RolloutRequest r;
    r.environment = control_.deployments().default_environment();
    r.strategy = "canary";
    for (Status s : {check_members(body, "",
                                   {"deployment", "environment", "strategy", "candidate", "steps", "step_min_ms",
                                    "step_min_requests", "keep_previous_ms", "analysis"},
                                   kReject),
                     read_string(body, "deployment", "", r.deployment), read_string(body, "environment", "", r.environment),
                     read_string(body, "strategy", "", r.strategy), RolloutSpec::parse(body, r.spec, kReject)}) {
      if (!s.is_ok()) return error_response(s);
    }
    auto candidate = member(body, "candidate");
    if (!candidate || !candidate->is_object()) return error_response(400, "candidate must be an object: {\"model\": ..., \"version\": ...}");
    for (Status s : {check_members(*candidate, "candidate", {"model", "version"}, kReject),
                     read_string(*candidate, "model", "candidate", r.model), read_integer(*candidate, "version", "candidate", r.version)}) {
      if (!s.is_ok()) return error_response(s);
    }
    if (r.deployment.empty()) return error_response(400, "deployment is required");
    if (r.model.empty()) r.model = r.deployment;
    RolloutRecord stored;
    if (Status s = control_.start_rollout(r, stored); !s.is_ok()) return error_response(s);
    return json(201, [&](RecordWriter& w) { write_rollout(w, stored); });
  }
  auto id = parse_positive(seg[3]);
  if (!id) return error_response(404, fmt::format("unknown rollout '{}'", seg[3]));
  if (seg.size() == 4) {
    if (!is_get(request)) return method_not_allowed("GET");
    RolloutRecord record;
    if (Status s = registry.get_rollout(*id, record); !s.is_ok()) return error_response(s);
    auto table = control_.deployments().snapshot();
    return json(200, [&](RecordWriter& w) {
      w.StartObject();
      w.Key("rollout");
      write_rollout(w, record);
      if (const LiveDeployment* d = table->find(record.environment, record.deployment)) {
        w.Key("traffic");  // the current step's window
        write_live(w, *d);
      }
      w.EndObject();
    });
  }
  if (seg.size() != 5) return error_response(404, "no such admin endpoint");
  if (request.method != Method::kPost) return method_not_allowed("POST");
  RolloutRecord stored;
  if (Status s = control_.rollout_action(*id, seg[4], stored); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) { write_rollout(w, stored); });
}

HttpResponse AdminApi::experiments(const HttpRequest& request, const std::vector<std::string>& seg) {
  if (seg.size() == 3) {
    if (is_get(request)) {
      return list_answer(
          "experiments", [&](auto& out) { return control_.registry().list_experiments(out); }, write_experiment);
    }
    if (request.method != Method::kPost) return method_not_allowed("GET, POST");
    JsonValue body;
    if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
    ExperimentRequest r;
    r.environment = control_.deployments().default_environment();
    for (Status s : {check_members(body, "", {"name", "deployment", "environment", "duration_ms", "max_requests", "arms"},
                                   kReject),
                     read_string(body, "name", "", r.name), read_string(body, "deployment", "", r.deployment),
                     read_string(body, "environment", "", r.environment), read_integer(body, "duration_ms", "", r.duration_ms),
                     read_integer(body, "max_requests", "", r.max_requests)}) {
      if (!s.is_ok()) return error_response(s);
    }
    auto arms = member(body, "arms");
    if (!arms) return error_response(400, "arms is required: [{\"name\", \"model\", \"version\", \"weight\"}, ...]");
    // An arm's role is its place (the first is the baseline): one given is refused, not overwritten.
    if (simdjson::dom::array items; !arms->get(items)) {
      size_t i = 0;
      for (JsonValue arm : items) {
        const std::string at = fmt::format("arms[{}]", i++);
        if (Status s = check_members(arm, at, {"name", "model", "version", "weight", "backend", "fault"}, kReject);
            !s.is_ok()) {
          return error_response(s);
        }
      }
    }
    if (Status s = read_variants(*arms, "arms", r.arms, kReject); !s.is_ok()) return error_response(s);
    if (r.deployment.empty()) return error_response(400, "deployment is required");
    ExperimentRecord stored;
    if (Status s = control_.start_experiment(r, stored); !s.is_ok()) return error_response(s);
    return json(201, [&](RecordWriter& w) { write_experiment(w, stored); });
  }
  auto id = parse_positive(seg[3]);
  if (!id) return error_response(404, fmt::format("unknown experiment '{}'", seg[3]));
  if (seg.size() == 4) {
    if (!is_get(request)) return method_not_allowed("GET");
    ExperimentResults results;
    if (Status s = control_.experiment_results(*id, results); !s.is_ok()) return error_response(s);
    return json(200, [&](RecordWriter& w) {
      w.StartObject();
      w.Key("experiment");
      write_experiment(w, results.experiment);
      w.Key("arms");
      w.StartArray();
      for (size_t i = 0; i < results.arms.size(); ++i) {
        const ArmResult& a = results.arms[i];
        w.StartObject();
        w.Key("variant");
        write_string(w, a.counts.variant);
        w.Key("weight");
        w.Double(a.weight);
        w.Key("requests");
        w.Int64(a.counts.requests);
        w.Key("outcomes");
        w.Int64(a.counts.outcomes);
        w.Key("successes");
        w.Int64(a.counts.successes);
        w.Key("success_rate");
        w.Double(a.success_rate);
        w.Key("mean_reward");
        w.Double(a.mean_reward);
        if (i > 0) {
          w.Key("vs_first");
          w.StartObject();
          w.Key("difference");
          w.Double(a.difference);
          w.Key("ci95");
          w.StartArray();
          w.Double(a.difference_interval.low);
          w.Double(a.difference_interval.high);
          w.EndArray();
          w.Key("p_value");
          w.Double(a.p_value);
          w.EndObject();
        }
        w.EndObject();
      }
      w.EndArray();
      w.Key("sample_ratio");
      w.StartObject();
      w.Key("chi2");
      w.Double(results.sample_ratio_chi2);
      w.Key("p_value");
      w.Double(results.sample_ratio_p_value);
      w.Key("mismatch");
      w.Bool(results.sample_ratio_mismatch);
      w.EndObject();
      w.EndObject();
    });
  }
  if (seg.size() != 5 || seg[4] != "stop") return error_response(404, "no such admin endpoint");
  if (request.method != Method::kPost) return method_not_allowed("POST");
  ExperimentRecord stored;
  if (Status s = control_.stop_experiment(*id, stored); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) { write_experiment(w, stored); });
}

HttpResponse AdminApi::api_keys(const HttpRequest& request, const std::vector<std::string>& seg) {
  if (seg.size() == 3) {
    if (is_get(request)) {
      return list_answer(
          "api_keys", [&](auto& out) { return control_.registry().list_api_keys(out); }, write_api_key);
    }
    if (request.method != Method::kPost) return method_not_allowed("GET, POST");
    JsonValue body;
    if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
    ApiKeyRequest r;
    for (Status s :
         {check_members(body, "", {"name", "roles", "deployments", "tenant", "priority", "expires_ms"}, kReject),
          read_string(body, "name", "", r.name), read_string(body, "tenant", "", r.tenant),
          read_integer(body, "expires_ms", "", r.expires_ms), read_string(body, "priority", "", r.priority)}) {
      if (!s.is_ok()) return error_response(s);
    }
    for (auto [name, list] : {std::pair{"roles", &r.roles}, std::pair{"deployments", &r.deployments}}) {
      if (auto array = member(body, name)) {
        if (Status s = read_tags(*array, name, *list); !s.is_ok()) return error_response(s);
      }
    }
    std::string key;
    ApiKeyRecord created;
    if (Status s = control_.api_keys().create(r, "admin", key, created); !s.is_ok()) return error_response(s);
    return json(201, [&](RecordWriter& w) {
      w.StartObject();
      w.Key("key");  // shown this once: the registry keeps only its hash
      write_string(w, key);
      w.Key("api_key");
      write_api_key(w, created);
      w.EndObject();
    });
  }
  if (seg.size() != 4) return error_response(404, "no such admin endpoint");
  if (request.method != Method::kDelete) return method_not_allowed("DELETE");
  if (Status s = control_.api_keys().revoke(seg[3], "admin"); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) {
    w.StartObject();
    w.Key("revoked");
    write_string(w, seg[3]);
    w.EndObject();
  });
}

HttpResponse AdminApi::rate_limit_rules(const HttpRequest& request, const std::vector<std::string>& seg) {
  if (!rate_limits_) return error_response(404, "rate limits are off (guards.rate_limit.enabled)");
  if (seg.size() == 3) {
    if (!is_get(request)) return method_not_allowed("GET");
    const auto set = rate_limits_->load();
    return json(200, [&](RecordWriter& w) {
      w.StartObject();
      w.Key("rules");
      w.StartArray();
      for (size_t i = 0; i < set->rules.size(); ++i) write_rate_limit_rule(w, set->rules[i], set->from_admin[i]);
      w.EndArray();
      w.EndObject();
    });
  }
  if (seg.size() != 4) return error_response(404, "no such admin endpoint");
  const std::string& name = seg[3];
  if (request.method == Method::kPut) {
    if (Status s = rate_limits_->put(name, request.body, "admin"); !s.is_ok()) return error_response(s);
  } else if (request.method == Method::kDelete) {
    if (Status s = rate_limits_->remove(name, "admin"); !s.is_ok()) return error_response(s);
  } else {
    return method_not_allowed("PUT, DELETE");
  }
  return json(200, [&](RecordWriter& w) {
    w.StartObject();
    w.Key(request.method == Method::kPut ? "set" : "removed");
    write_string(w, name);
    w.EndObject();
  });
}

HttpResponse AdminApi::circuit_breakers(const HttpRequest& request, const std::vector<std::string>& seg) {
  if (!breakers_) return error_response(404, "circuit breakers are off (guards.circuit_breaker.enabled)");
  if (seg.size() == 3) {
    if (!is_get(request)) return method_not_allowed("GET");
    const TimePoint now = Clock::now();
    return json(200, [&](RecordWriter& w) {
      w.StartObject();
      w.Key("circuit_breakers");
      w.StartArray();
      for (CircuitBreaker* breaker : breakers_->list()) write_breaker(w, *breaker, breaker->snapshot(now), now);
      w.EndArray();
      w.EndObject();
    });
  }
  if (seg.size() != 5 || seg[4] != "reset") return error_response(404, "no such admin endpoint");
  if (request.method != Method::kPost) return method_not_allowed("POST");
  if (Status s = breakers_->reset(seg[3]); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) {
    w.StartObject();
    w.Key("reset");
    write_string(w, seg[3]);
    w.EndObject();
  });
}

HttpResponse AdminApi::backend_fault(const HttpRequest& request, const std::vector<std::string>& seg) {
  if (seg.size() != 5 || seg[4] != "fault") return error_response(404, "no such admin endpoint");
  const std::string& name = seg[3];
  FaultSpec fault;
  if (!backend_faults_ || !backend_faults_->get(name, fault)) {
    return error_response(404, fmt::format("no backend '{}' is configured", name));
  }
  if (!is_get(request)) {
    if (request.method == Method::kPut) {
      JsonValue body;
      if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
      fault = FaultSpec{};
      if (Status s = read_fault(body, "fault", fault, kReject); !s.is_ok()) return error_response(s);
      if (Status s = validate_fault(fault, "fault"); !s.is_ok()) return error_response(s);
    } else if (request.method == Method::kDelete) {
      fault = FaultSpec{};
    } else {
      return method_not_allowed("GET, PUT, DELETE");
    }
    // In memory only, but in the audit trail like every admin change.
    rapidjson::StringBuffer details;
    RecordWriter w(details);
    write_fault(w, fault);
    RegistryChange change;
    const char* kind = request.method == Method::kPut ? "backend_fault.set" : "backend_fault.cleared";
    change.events.push_back(
        {0, 0, "admin", kind, "backend/" + name, std::string(details.GetString(), details.GetSize())});
    if (Status s = control_.registry().apply(change); !s.is_ok()) return error_response(s);
    if (Status s = backend_faults_->set(name, fault); !s.is_ok()) return error_response(s);
  }
  return json(200, [&](RecordWriter& w) {
    w.StartObject();
    w.Key("backend");
    write_string(w, name);
    w.Key("fault");
    write_fault(w, fault);
    w.EndObject();
  });
}

HttpResponse AdminApi::events(std::string_view query) {
  int64_t after = 0;
  int64_t limit = 100;
  if (auto a = query_param(query, "after")) {
    auto v = parse_positive(*a);
    if (!v && *a != "0") return error_response(400, "after must be an event id");
    after = v.value_or(0);
  }
  if (auto l = query_param(query, "limit")) {
    auto v = parse_positive(*l);
    if (!v || *v > 10000) return error_response(400, "limit must be from 1 to 10000");
    limit = *v;
  }
  const std::string subject = query_param(query, "subject").value_or("");
  return list_answer(
      "events",
      [&](auto& out) { return control_.registry().list_events(after, static_cast<int>(limit), subject, out); },
      write_event);
}

HttpResponse AdminApi::feedback(const HttpRequest& request) {
  JsonValue body;
  if (Status s = parse_object(request.body, body); !s.is_ok()) return error_response(s);
  Feedback f;
  f.time_ms = unix_ms();
  std::string label;
  double reward = 0;
  for (Status s : {read_string(body, "request_id", "", f.request_id), read_string(body, "label", "", label),
                   read_number(body, "reward", "", reward)}) {
    if (!s.is_ok()) return error_response(s);
  }
  if (f.request_id.empty()) return error_response(400, "request_id is required");
  const bool has_label = member(body, "label").has_value();
  const bool has_reward = member(body, "reward").has_value();
  if (has_label == has_reward) return error_response(400, "give exactly one of label (the true label) or reward (a number)");
  if (has_label) f.label = label;
  if (has_reward) f.reward = reward;
  if (Status s = control_.experiments().feedback(f); !s.is_ok()) return error_response(s);
  return json(200, [&](RecordWriter& w) {
    w.StartObject();
    w.Key("recorded");
    w.Bool(true);
    w.EndObject();
  });
}

}  // namespace seraph
