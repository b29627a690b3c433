#pragma once
// The rate-limit rules in force: the config's, and those set through the admin API. The admin's
// are kept in the registry and read again every second, so every replica sharing the registry
// enforces them; one of the same name as a config rule replaces it. The guards read an immutable
// set per request (a per-thread copy: no lock).
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "control/records_json.h"
#include "control/registry.h"
#include "core/snapshot.h"
#include "core/status.h"
#include "guards/guard_settings.h"

namespace seraph {

struct RateLimitRuleSet {
  std::vector<RateLimitRuleSettings> rules;
  std::vector<bool> from_admin;  // per rule: set through the admin API (else: the config file)
};

class RateLimitRules {
 public:
  RateLimitRules(Registry& registry, std::vector<RateLimitRuleSettings> configured);

  // Reads the admin's rules again; on failure the rules in force stay and the error returns.
  Status refresh();
  // Validates `spec_json` as rule `name` with the others in force, stores it, and puts it in force.
  Status put(const std::string& name, std::string_view spec_json, std::string_view actor);
  Status remove(const std::string& name, std::string_view actor);

  const RateLimitRuleSet& current() const { return set_.read(); }  // per request
  std::shared_ptr<const RateLimitRuleSet> load() const { return set_.load(); }

 private:
  Status build(const std::vector<RateLimitRuleRecord>& records, std::shared_ptr<const RateLimitRuleSet>& out) const;

  Registry& registry_;
  const std::vector<RateLimitRuleSettings> configured_;
  std::mutex refresh_mutex_;                       // the timer and admin requests both refresh
  std::vector<RateLimitRuleRecord> last_records_;  // what the set in force was built from
  bool published_ = false;
  Snapshot<RateLimitRuleSet> set_;
};

// The parts of a rule both the config file and the admin API spell the same way.
Status parse_rate_limit_key(std::string_view text, RateLimitRuleSettings& rule);   // client, subject, ..., header:<Name>
Status parse_rate_limit_cost(std::string_view text, RateLimitRuleSettings& rule);  // request or rows
// Rules that can be enforced together: each valid, names unique, and one cost per stage (one check
// is atomic over its rules, at one cost).
Status check_rate_limit_rules(const std::vector<RateLimitRuleSettings>& rules);
Status check_one_cost_per_stage(const std::vector<RateLimitRuleSettings>& rules);
// {"limit", "period_ms", "burst", "key", "cost", "deployments"} as rule `name`.
Status parse_rate_limit_rule_json(const std::string& name, std::string_view json, RateLimitRuleSettings& out,
                                  UnknownMembers unknown);

}  // namespace seraph
