#include "guards/rate_limit_rules.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "control/records_json.h"
#include "wire/json_reader.h"

namespace seraph {

Status parse_rate_limit_key(std::string_view text, RateLimitRuleSettings& rule) {
  using Key = RateLimitRuleSettings::Key;
  if (text == "client") rule.key = Key::kClient;
  else if (text == "subject") rule.key = Key::kSubject;
  else if (text == "tenant") rule.key = Key::kTenant;
  else if (text == "deployment") rule.key = Key::kDeployment;
  else if (text.starts_with("header:") && text.size() > 7) {
    rule.key = Key::kHeader;
    rule.header = std::string(text.substr(7));
  } else {
    return invalid_argument(fmt::format("key must be client, subject, tenant, deployment or header:<Name>, got '{}'", text));
  }
  return {};
}

Status parse_rate_limit_cost(std::string_view text, RateLimitRuleSettings& rule) {
  if (text != "request" && text != "rows") return invalid_argument(fmt::format("cost must be request or rows, got '{}'", text));
  rule.cost_rows = text == "rows";
  return {};
}

Status check_rate_limit_rules(const std::vector<RateLimitRuleSettings>& rules) {
  std::set<std::string> names;
  for (const RateLimitRuleSettings& r : rules) {
    if (Status s = validate_rate_limit_rule(r.rule); !s.is_ok()) return invalid_argument(r.rule.name + ": " + s.message());
    if (!names.insert(r.rule.name).second) return invalid_argument(fmt::format("'{}' is used twice", r.rule.name));
  }
  return check_one_cost_per_stage(rules);
}

Status check_one_cost_per_stage(const std::vector<RateLimitRuleSettings>& rules) {
  const auto per_inference = std::count_if(rules.begin(), rules.end(), [](const auto& r) { return r.per_inference(); });
  const auto rows = std::count_if(rules.begin(), rules.end(), [](const auto& r) { return r.cost_rows; });
  if (rows > 0 && rows != per_inference) {
    return invalid_argument(
        "rules costing rows are checked together with every other per-deployment rule, at one cost; make all "
        "per-deployment rules cost rows, or none");
  }
  return {};
}

Status parse_rate_limit_rule_json(const std::string& name, std::string_view json, RateLimitRuleSettings& out,
                                  UnknownMembers unknown) {
  JsonValue body;
  if (Status s = parse_json(json, body); !s.is_ok()) return s;
  if (!body.is_object()) return invalid_argument("a rate-limit rule is a JSON object");
  RateLimitRuleSettings r;
  r.rule.name = name;
  int64_t period_ms = 1000;
  std::string key = "client", cost = "request";
  // A rule as GET lists it may be sent back: its name must then be the path's, and its source
  // is the server's to say.
  std::string given_name = name;
  for (Status s : {check_members(body, "", {"name", "limit", "period_ms", "burst", "key", "cost", "deployments", "source"},
                                 unknown),
                   read_string(body, "name", "", given_name), read_integer(body, "limit", "", r.rule.limit),
                   read_integer(body, "period_ms", "", period_ms), read_integer(body, "burst", "", r.rule.burst),
                   read_string(body, "key", "", key), read_string(body, "cost", "", cost)}) {
    if (!s.is_ok()) return s;
  }
  if (given_name != name) {
    return invalid_argument(fmt::format("name is '{}' in the body, but the path names '{}'", given_name, name));
  }
  if (auto deployments = member(body, "deployments")) {
    if (Status s = read_tags(*deployments, "deployments", r.deployments); !s.is_ok()) return s;
  }
  r.rule.period = std::chrono::milliseconds(period_ms);
  if (Status s = parse_rate_limit_key(key, r); !s.is_ok()) return s;
  if (Status s = parse_rate_limit_cost(cost, r); !s.is_ok()) return s;
  if (Status s = validate_rate_limit_rule(r.rule); !s.is_ok()) return s;
  out = std::move(r);
  return {};
}

RateLimitRules::RateLimitRules(Registry& registry, std::vector<RateLimitRuleSettings> configured)
    : registry_(registry),
      configured_(std::move(configured)),
      set_(std::make_shared<const RateLimitRuleSet>(RateLimitRuleSet{configured_, std::vector<bool>(configured_.size())})) {}

Status RateLimitRules::build(const std::vector<RateLimitRuleRecord>& records,
                             std::shared_ptr<const RateLimitRuleSet>& out) const {
  auto set = std::make_shared<RateLimitRuleSet>();
  for (const RateLimitRuleSettings& r : configured_) {
    const bool replaced = std::any_of(records.begin(), records.end(), [&](const auto& a) { return a.name == r.rule.name; });
    if (replaced) continue;
    set->rules.push_back(r);
    set->from_admin.push_back(false);
  }
  for (const RateLimitRuleRecord& record : records) {
    RateLimitRuleSettings r;
    if (Status s = parse_rate_limit_rule_json(record.name, record.spec_json, r, UnknownMembers::kIgnore); !s.is_ok()) {
      return internal_error(fmt::format("stored rate-limit rule '{}' is malformed: {}", record.name, s.message()));
    }
    set->rules.push_back(std::move(r));
    set->from_admin.push_back(true);
  }
  if (Status s = check_rate_limit_rules(set->rules); !s.is_ok()) return s;
  out = std::move(set);
  return {};
}

Status RateLimitRules::refresh() {
  std::vector<RateLimitRuleRecord> records;
  if (Status s = registry_.list_rate_limit_rules(records); !s.is_ok()) return s;
  std::lock_guard lock(refresh_mutex_);
  if (published_ && records == last_records_) return {};  // most seconds: nothing changed
  std::shared_ptr<const RateLimitRuleSet> set;
  if (Status s = build(records, set); !s.is_ok()) return s;
  set_.publish(std::move(set));
  last_records_ = std::move(records);
  published_ = true;
  return {};
}

Status RateLimitRules::put(const std::string& name, std::string_view spec_json, std::string_view actor) {
  if (name.empty() || name.size() > 128 || name.find(':') != std::string::npos) {
    return invalid_argument("a rule's name is 1 to 128 characters, without ':'");
  }
  RateLimitRuleSettings rule;
  // From the admin API: a misspelt key is an error, where a stored rule's extra members are not.
  if (Status s = parse_rate_limit_rule_json(name, spec_json, rule, UnknownMembers::kReject); !s.is_ok()) return s;
  // Checked with the rules it joins before it is stored: the set in force must stay enforceable.
  std::vector<RateLimitRuleRecord> records;
  if (Status s = registry_.list_rate_limit_rules(records); !s.is_ok()) return s;
  std::erase_if(records, [&](const RateLimitRuleRecord& r) { return r.name == name; });
  records.push_back({name, std::string(spec_json), 0});
  std::shared_ptr<const RateLimitRuleSet> set;
  if (Status s = build(records, set); !s.is_ok()) return s;
  const EventRecord event{0, 0, std::string(actor), "rate_limit.set", "rate_limit/" + name, std::string(spec_json)};
  if (Status s = registry_.put_rate_limit_rule(records.back(), {event}); !s.is_ok()) return s;
  return refresh();
}

Status RateLimitRules::remove(const std::string& name, std::string_view actor) {
  const EventRecord event{0, 0, std::string(actor), "rate_limit.removed", "rate_limit/" + name, "{}"};
  if (Status s = registry_.remove_rate_limit_rule(name, {event}); !s.is_ok()) return s;
  return refresh();
}

}  // namespace seraph
