#include "control/records_json.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace seraph {
namespace {

std::string field(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

void key(RecordWriter& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void text(RecordWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void number(RecordWriter& w, double v) {
  if (std::isfinite(v)) {
    w.Double(v);
  } else {
    w.Null();
  }
}

// Parses `json` and hands its root to `read`.
template <class Read>
Status from_json(std::string_view json, std::string_view what, Read&& read) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    return invalid_argument(fmt::format("{} are not valid JSON: {}", what, simdjson::error_message(error)));
  }
  return read(root);
}

template <class Write>
std::string to_json(Write&& write) {
  rapidjson::StringBuffer buffer;
  RecordWriter w(buffer);
  write(w);
  return {buffer.GetString(), buffer.GetSize()};
}


}  // namespace

Status read_string(simdjson::dom::element object, std::string_view k, std::string_view path, std::string& out) {
  simdjson::dom::element value;
  if (object.at_key(k).get(value)) return {};
  std::string_view s;
  if (value.get(s)) return invalid_argument(fmt::format("{} must be a string", field(path, k)));
  out = std::string(s);
  return {};
}

Status read_number(simdjson::dom::element object, std::string_view k, std::string_view path, double& out) {
  simdjson::dom::element value;
  if (object.at_key(k).get(value)) return {};
  double d = 0;
  if (value.get(d) || !std::isfinite(d)) return invalid_argument(fmt::format("{} must be a number", field(path, k)));
  out = d;
  return {};
}

Status read_integer(simdjson::dom::element object, std::string_view k, std::string_view path, int64_t& out) {
  simdjson::dom::element value;
  if (object.at_key(k).get(value)) return {};
  int64_t i = 0;
  if (value.get(i)) return invalid_argument(fmt::format("{} must be a whole number", field(path, k)));
  out = i;
  return {};
}

Status read_tags(simdjson::dom::element array, std::string_view path, std::vector<std::string>& out) {
  simdjson::dom::array items;
  if (array.get(items)) return invalid_argument(fmt::format("{} must be an array of strings", path));
  out.clear();
  for (simdjson::dom::element item : items) {
    std::string_view tag;
    if (item.get(tag)) return invalid_argument(fmt::format("{} must be an array of strings", path));
    out.emplace_back(tag);
  }
  return {};
}

Status read_metrics(simdjson::dom::element object, std::string_view path, std::map<std::string, double>& out) {
  simdjson::dom::object fields;
  if (object.get(fields)) return invalid_argument(fmt::format("{} must be an object of numbers", path));
  out.clear();
  for (auto [name, value] : fields) {
    double number = 0;
    if (value.get(number) || !std::isfinite(number)) return invalid_argument(fmt::format("{} must be an object of numbers", path));
    out[std::string(name)] = number;
  }
  return {};
}

Status check_members(simdjson::dom::element object, std::string_view path, std::initializer_list<std::string_view> known,
                     UnknownMembers unknown) {
  simdjson::dom::object fields;
  if (unknown == UnknownMembers::kIgnore || object.get(fields)) return {};  // a non-object: the reader says so
  for (auto [name, value] : fields) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return invalid_argument(fmt::format("{}: unknown key (use {})", field(path, name), fmt::join(known, ", ")));
    }
  }
  return {};
}

Status read_fault(simdjson::dom::element object, std::string_view path, FaultSpec& out, UnknownMembers unknown) {
  if (!object.is_object()) return invalid_argument(fmt::format("{} must be an object", path));
  if (Status s = check_members(object, path, {"delay_ms", "delay_percent", "abort_percent", "abort_status"}, unknown);
      !s.is_ok()) {
    return s;
  }
  int64_t status = out.abort_status;
  for (Status s : {read_number(object, "delay_ms", path, out.delay_ms), read_number(object, "delay_percent", path, out.delay_percent),
                   read_number(object, "abort_percent", path, out.abort_percent),
                   read_integer(object, "abort_status", path, status)}) {
    if (!s.is_ok()) return s;
  }
  out.abort_status = static_cast<int>(std::clamp<int64_t>(status, 0, 1000));
  return {};
}

namespace {

// Reads each element of the array at `path` with `read_one(element, "path[i]", i, T&)`.
template <typename T, typename ReadOne>
Status read_array(simdjson::dom::element array, std::string_view path, std::vector<T>& out, ReadOne read_one) {
  simdjson::dom::array items;
  if (array.get(items)) return invalid_argument(fmt::format("{} must be an array", path));
  out.clear();
  size_t i = 0;
  for (simdjson::dom::element item : items) {
    T value;
    if (Status s = read_one(item, fmt::format("{}[{}]", path, i), i, value); !s.is_ok()) return s;
    out.push_back(std::move(value));
    ++i;
  }
  return {};
}

Status read_variant(simdjson::dom::element item, const std::string& where, size_t index, VariantRecord& v,
                    UnknownMembers unknown) {
  if (!item.is_object()) return invalid_argument(fmt::format("{} must be an object", where));
  if (Status s = check_members(item, where, {"name", "model", "version", "weight", "role", "backend", "fault"}, unknown);
      !s.is_ok()) {
    return s;
  }
  v.role = index == 0 ? "baseline" : "candidate";
  for (Status s : {read_string(item, "name", where, v.name), read_string(item, "model", where, v.model),
                   read_integer(item, "version", where, v.version), read_number(item, "weight", where, v.weight),
                   read_string(item, "role", where, v.role), read_string(item, "backend", where, v.backend)}) {
    if (!s.is_ok()) return s;
  }
  if (v.name.empty()) v.name = v.role;
  simdjson::dom::element fault;
  if (!item.at_key("fault").get(fault)) return read_fault(fault, where + ".fault", v.fault, unknown);
  return {};
}

}  // namespace

Status read_variants(simdjson::dom::element array, std::string_view path, std::vector<VariantRecord>& out,
                     UnknownMembers unknown) {
  return read_array(array, path, out,
                    [unknown](simdjson::dom::element item, const std::string& where, size_t index, VariantRecord& v) {
                      return read_variant(item, where, index, v, unknown);
                    });
}

namespace {

Status read_fallback_step(simdjson::dom::element item, const std::string& where, FallbackStep& step,
                          UnknownMembers unknown) {
  auto malformed = [&] {
    return invalid_argument(fmt::format(
        "{} must be an object with one of variant (a name), stale_cache (true) or default_answer (an object)", where));
  };
  if (!item.is_object()) return malformed();
  if (Status s = check_members(item, where, {"variant", "stale_cache", "default_answer"}, unknown); !s.is_ok()) return s;
  // A step is the one kind it names; members beside it are a newer replica's, left unread.
  std::string_view name;
  simdjson::dom::element value;
  for (std::string_view kind : {"variant", "stale_cache", "default_answer"}) {
    simdjson::dom::element given;
    if (item.at_key(kind).get(given)) continue;
    if (!name.empty()) return malformed();  // two kinds in one step
    name = kind;
    value = given;
  }
  if (name == "variant") {
    step.kind = FallbackStep::Kind::kVariant;
    return read_string(item, "variant", where, step.variant);
  }
  if (name == "stale_cache") {
    bool on = false;
    if (value.get(on) || !on) return invalid_argument(fmt::format("{}.stale_cache must be true", where));
    step.kind = FallbackStep::Kind::kStaleCache;
    return {};
  }
  if (name == "default_answer") {
    if (!value.is_object()) return invalid_argument(fmt::format("{}.default_answer must be an object", where));
    step.kind = FallbackStep::Kind::kDefaultAnswer;
    step.answer_json = simdjson::to_string(value);
    return {};
  }
  return malformed();  // none of them
}

}  // namespace

Status read_fallback(simdjson::dom::element array, std::string_view path, std::vector<FallbackStep>& out,
                     UnknownMembers unknown) {
  return read_array(array, path, out,
                    [unknown](simdjson::dom::element item, const std::string& where, size_t, FallbackStep& step) {
                      return read_fallback_step(item, where, step, unknown);
                    });
}

Status read_policy(simdjson::dom::element object, std::string_view path, DeploymentPolicy& out, UnknownMembers unknown) {
  if (Status s = read_string(object, "priority", path, out.priority); !s.is_ok()) return s;
  simdjson::dom::element member;
  if (!object.at_key("fault").get(member)) {
    if (Status s = read_fault(member, field(path, "fault"), out.fault, unknown); !s.is_ok()) return s;
  }
  if (!object.at_key("fallback").get(member)) {
    if (Status s = read_fallback(member, field(path, "fallback"), out.fallback, unknown); !s.is_ok()) return s;
  }
  return {};
}

void write_fault(RecordWriter& w, const FaultSpec& f) {
  w.StartObject();
  key(w, "delay_ms");
  number(w, f.delay_ms);
  key(w, "delay_percent");
  number(w, f.delay_percent);
  key(w, "abort_percent");
  number(w, f.abort_percent);
  key(w, "abort_status");
  w.Int(f.abort_status);
  w.EndObject();
}

void write_variants(RecordWriter& w, const std::vector<VariantRecord>& variants) {
  w.StartArray();
  for (const VariantRecord& v : variants) {
    w.StartObject();
    key(w, "name");
    text(w, v.name);
    key(w, "model");
    text(w, v.model);
    key(w, "version");
    w.Int64(v.version);
    key(w, "weight");
    number(w, v.weight);
    key(w, "role");
    text(w, v.role);
    key(w, "fault");
    write_fault(w, v.fault);
    if (!v.backend.empty()) {
      key(w, "backend");
      text(w, v.backend);
    }
    w.EndObject();
  }
  w.EndArray();
}

void write_policy_members(RecordWriter& w, const DeploymentPolicy& p) {
  key(w, "priority");
  text(w, p.priority);
  key(w, "fault");
  write_fault(w, p.fault);
  key(w, "fallback");
  w.StartArray();
  for (const FallbackStep& step : p.fallback) {
    w.StartObject();
    switch (step.kind) {
      case FallbackStep::Kind::kVariant:
        key(w, "variant");
        text(w, step.variant);
        break;
      case FallbackStep::Kind::kStaleCache:
        key(w, "stale_cache");
        w.Bool(true);
        break;
      case FallbackStep::Kind::kDefaultAnswer:
        key(w, "default_answer");
        w.RawValue(step.answer_json.data(), step.answer_json.size(), rapidjson::kObjectType);
        break;
    }
    w.EndObject();
  }
  w.EndArray();
}

void write_deployment(RecordWriter& w, const DeploymentRecord& d) {
  w.StartObject();
  key(w, "name");
  text(w, d.name);
  key(w, "environment");
  text(w, d.environment);
  key(w, "sticky_header");
  text(w, d.sticky_header);
  key(w, "variants");
  write_variants(w, d.variants);
  write_policy_members(w, d.policy);
  key(w, "updated_ms");
  w.Int64(d.updated_ms);
  w.EndObject();
}

void write_version(RecordWriter& w, const ModelVersionRecord& v) {
  w.StartObject();
  key(w, "model");
  text(w, v.model);
  key(w, "version");
  w.Int64(v.version);
  key(w, "description");
  text(w, v.description);
  key(w, "runtime");
  text(w, v.runtime);
  key(w, "tags");
  w.StartArray();
  for (const auto& t : v.tags) text(w, t);
  w.EndArray();
  key(w, "metrics");
  w.StartObject();
  for (const auto& [name, value] : v.metrics) {
    key(w, name);
    number(w, value);
  }
  w.EndObject();
  key(w, "artifact_sha256");
  text(w, v.artifact_sha256);
  key(w, "parent_version");
  if (v.parent_version) {
    w.Int64(*v.parent_version);
  } else {
    w.Null();
  }
  key(w, "created_ms");
  w.Int64(v.created_ms);
  key(w, "archived");
  w.Bool(v.archived);
  w.EndObject();
}

void write_event(RecordWriter& w, const EventRecord& e) {
  w.StartObject();
  key(w, "id");
  w.Int64(e.id);
  key(w, "time_ms");
  w.Int64(e.time_ms);
  key(w, "actor");
  text(w, e.actor);
  key(w, "kind");
  text(w, e.kind);
  key(w, "subject");
  text(w, e.subject);
  key(w, "details");
  const std::string& details = e.details_json.empty() ? std::string("{}") : e.details_json;
  w.RawValue(details.data(), details.size(), rapidjson::kObjectType);
  w.EndObject();
}

void write_rollout(RecordWriter& w, const RolloutRecord& r) {
  w.StartObject();
  key(w, "id");
  w.Int64(r.id);
  key(w, "deployment");
  text(w, r.deployment);
  key(w, "environment");
  text(w, r.environment);
  key(w, "strategy");
  text(w, r.strategy);
  key(w, "candidate");
  w.StartObject();
  key(w, "model");
  text(w, r.candidate_model);
  key(w, "version");
  w.Int64(r.candidate_version);
  w.EndObject();
  key(w, "state");
  text(w, r.state);
  key(w, "step_index");
  w.Int(r.step_index);
  key(w, "step_started_ms");
  w.Int64(r.step_started_ms);
  key(w, "spec");
  const std::string& spec = r.spec_json.empty() ? std::string("{}") : r.spec_json;
  w.RawValue(spec.data(), spec.size(), rapidjson::kObjectType);
  key(w, "reason");
  text(w, r.reason);
  key(w, "created_ms");
  w.Int64(r.created_ms);
  key(w, "updated_ms");
  w.Int64(r.updated_ms);
  w.EndObject();
}

void write_api_key(RecordWriter& w, const ApiKeyRecord& k) {
  w.StartObject();
  key(w, "id");
  text(w, k.id);
  key(w, "name");
  text(w, k.name);
  for (const auto& [name, list] : {std::pair{"roles", &k.roles}, std::pair{"deployments", &k.deployments}}) {
    key(w, name);
    w.StartArray();
    for (const std::string& item : *list) text(w, item);
    w.EndArray();
  }
  key(w, "tenant");
  text(w, k.tenant);
  key(w, "priority");
  text(w, k.priority);
  key(w, "created_ms");
  w.Int64(k.created_ms);
  key(w, "expires_ms");
  w.Int64(k.expires_ms);
  key(w, "revoked_ms");
  w.Int64(k.revoked_ms);
  w.EndObject();
}

void write_experiment(RecordWriter& w, const ExperimentRecord& e) {
  w.StartObject();
  key(w, "id");
  w.Int64(e.id);
  key(w, "name");
  text(w, e.name);
  key(w, "deployment");
  text(w, e.deployment);
  key(w, "environment");
  text(w, e.environment);
  key(w, "arms");
  write_variants(w, e.variants);
  key(w, "state");
  text(w, e.state);
  key(w, "started_ms");
  w.Int64(e.started_ms);
  key(w, "ends_ms");
  w.Int64(e.ends_ms);
  key(w, "max_requests");
  w.Int64(e.max_requests);
  key(w, "reason");
  text(w, e.reason);
  w.EndObject();
}

std::string variants_to_json(const std::vector<VariantRecord>& variants) {
  return to_json([&](RecordWriter& w) { write_variants(w, variants); });
}


Status variants_from_json(std::string_view json, std::vector<VariantRecord>& out) {
  return from_json(json, "variants", [&](simdjson::dom::element root) { return read_variants(root, "variants", out, UnknownMembers::kIgnore); });
}

std::string policy_to_json(const DeploymentPolicy& policy) {
  return to_json([&](RecordWriter& w) {
    w.StartObject();
    write_policy_members(w, policy);
    w.EndObject();
  });
}

Status policy_from_json(std::string_view json, DeploymentPolicy& out) {
  return from_json(json, "policy", [&](simdjson::dom::element root) {
    if (!root.is_object()) return invalid_argument("policy must be an object");
    return read_policy(root, "", out, UnknownMembers::kIgnore);
  });
}

Status fallback_from_json(std::string_view json, std::vector<FallbackStep>& out, UnknownMembers unknown) {
  return from_json(json, "fallback",
                   [&](simdjson::dom::element root) { return read_fallback(root, "fallback", out, unknown); });
}

std::string tags_to_json(const std::vector<std::string>& tags) {
  return to_json([&](RecordWriter& w) {
    w.StartArray();
    for (const auto& tag : tags) text(w, tag);
    w.EndArray();
  });
}

Status tags_from_json(std::string_view json, std::vector<std::string>& out) {
  return from_json(json, "tags", [&](simdjson::dom::element root) { return read_tags(root, "tags", out); });
}

std::string metrics_to_json(const std::map<std::string, double>& metrics) {
  return to_json([&](RecordWriter& w) {
    w.StartObject();
    for (const auto& [name, value] : metrics) {
      key(w, name);
      number(w, value);
    }
    w.EndObject();
  });
}

Status metrics_from_json(std::string_view json, std::map<std::string, double>& out) {
  return from_json(json, "metrics", [&](simdjson::dom::element root) { return read_metrics(root, "metrics", out); });
}

std::string json_object(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  return to_json([&](RecordWriter& w) {
    w.StartObject();
    for (const auto& [k, v] : fields) {
      key(w, k);
      text(w, v);
    }
    w.EndObject();
  });
}

}  // namespace seraph
