#pragma once
// Registry records as JSON: read from untrusted admin requests (simdjson, every field checked,
// every problem naming its field) and written for answers and for the registry's own JSON columns.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include "control/registry.h"
#include "core/status.h"

namespace seraph {

using RecordWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Typed members of a JSON object; absent members leave the target unchanged. `path` names the
// object in error messages ("variants[1].fault").
Status read_string(simdjson::dom::element object, std::string_view key, std::string_view path, std::string& out);
Status read_number(simdjson::dom::element object, std::string_view key, std::string_view path, double& out);
Status read_integer(simdjson::dom::element object, std::string_view key, std::string_view path, int64_t& out);

// What a reader does with a member it does not know. The admin API rejects one: a misspelt key is
// a 400 naming the keys there are, not a setting silently left at its default. Records read back
// from the registry ignore theirs, since a newer seraph sharing the registry may write more.
enum class UnknownMembers : uint8_t { kIgnore, kReject };
// Under kReject, an error naming the first member of `object` not in `known`; otherwise OK.
Status check_members(simdjson::dom::element object, std::string_view path, std::initializer_list<std::string_view> known,
                     UnknownMembers unknown);

Status read_tags(simdjson::dom::element array, std::string_view path, std::vector<std::string>& out);
Status read_metrics(simdjson::dom::element object, std::string_view path, std::map<std::string, double>& out);
Status read_fault(simdjson::dom::element object, std::string_view path, FaultSpec& out, UnknownMembers unknown);
Status read_variants(simdjson::dom::element array, std::string_view path, std::vector<VariantRecord>& out,
                     UnknownMembers unknown);
Status read_fallback(simdjson::dom::element array, std::string_view path, std::vector<FallbackStep>& out,
                     UnknownMembers unknown);
// The policy's members (priority, fault, fallback) of a deployment object; the caller, which knows
// the object's other members, checks for unknown ones.
Status read_policy(simdjson::dom::element object, std::string_view path, DeploymentPolicy& out, UnknownMembers unknown);

void write_fault(RecordWriter& w, const FaultSpec& fault);
void write_variants(RecordWriter& w, const std::vector<VariantRecord>& variants);
void write_policy_members(RecordWriter& w, const DeploymentPolicy& policy);  // inside an open object
void write_deployment(RecordWriter& w, const DeploymentRecord& deployment);  // the policy's members inlined
void write_version(RecordWriter& w, const ModelVersionRecord& version);
void write_event(RecordWriter& w, const EventRecord& event);  // details inlined as JSON
void write_rollout(RecordWriter& w, const RolloutRecord& rollout);  // spec inlined as JSON
void write_experiment(RecordWriter& w, const ExperimentRecord& experiment);
void write_api_key(RecordWriter& w, const ApiKeyRecord& key);  // never the hash

// The registry's JSON columns. Non-finite numbers are written as null, which reading rejects.
std::string variants_to_json(const std::vector<VariantRecord>& variants);
Status variants_from_json(std::string_view json, std::vector<VariantRecord>& out);
std::string policy_to_json(const DeploymentPolicy& policy);
Status policy_from_json(std::string_view json, DeploymentPolicy& out);
Status fallback_from_json(std::string_view json, std::vector<FallbackStep>& out, UnknownMembers unknown);
std::string tags_to_json(const std::vector<std::string>& tags);
Status tags_from_json(std::string_view json, std::vector<std::string>& out);
std::string metrics_to_json(const std::map<std::string, double>& metrics);
Status metrics_from_json(std::string_view json, std::map<std::string, double>& out);

// A JSON object holding `key`: `value` string pairs, for event details.
std::string json_object(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

}  // namespace seraph
