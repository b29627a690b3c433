#include "config/config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "control/api_keys.h"
#include "control/deployments.h"
#include "control/records_json.h"
#include "guards/content_rules.h"
#include "guards/guard_table.h"
#include "guards/rate_limit_rules.h"
#include "models/model_manager.h"
#include "models/remote/remote_config.h"
#include "limits/rate_limit.h"
#include "models/version_policy.h"
#include "resilience/retry_reason.h"

namespace seraph {
namespace {

// One settable key: its path ("server.port"), how to read a text value into the config, and how to
// check the result.
struct Key {
  std::string path;
  std::function<std::string(Config&, const std::string&)> set;  // returns an error or ""
  bool list = false;  // takes a YAML list too, passed to `set` joined by commas
};

std::string set_int(int64_t& target, const std::string& text, int64_t min, int64_t max) {
  try {
    size_t used = 0;
    int64_t value = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    if (value < min || value > max) return fmt::format("must be between {} and {}, got {}", min, max, value);
    target = value;
    return "";
  } catch (const std::exception&) {
    return fmt::format("must be an integer, got '{}'", text);
  }
}

std::vector<Key> keys() {
  std::vector<Key> k;
  auto int_key = [&k](std::string path, auto getter, int64_t min, int64_t max) {
    k.push_back({std::move(path), [getter, min, max](Config& c, const std::string& text) {
                   int64_t value = 0;
                   std::string error = set_int(value, text, min, max);
                   if (error.empty()) getter(c) = static_cast<std::remove_reference_t<decltype(getter(c))>>(value);
                   return error;
                 }});
  };
  auto string_key = [&k](std::string path, auto getter, std::function<std::string(const std::string&)> check) {
    k.push_back({std::move(path), [getter, check](Config& c, const std::string& text) {
                   std::string error = check ? check(text) : "";
                   if (error.empty()) getter(c) = text;
                   return error;
                 }});
  };
  auto bool_key = [&k](std::string path, auto getter) {
    k.push_back({std::move(path), [getter](Config& c, const std::string& text) -> std::string {
                   if (text == "true" || text == "1") getter(c) = true;
                   else if (text == "false" || text == "0") getter(c) = false;
                   else return fmt::format("must be true or false, got '{}'", text);
                   return "";
                 }});
  };
  string_key("server.host", [](Config& c) -> std::string& { return c.server.host; },
             [](const std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); });
  int_key("server.port", [](Config& c) -> int& { return c.server.port; }, 0, 65535);
  int_key("server.io_threads", [](Config& c) -> int& { return c.server.io_threads; }, 0, 256);
  int_key("server.max_body_bytes", [](Config& c) -> int64_t& { return c.server.max_body_bytes; }, 1024,
          int64_t{1} << 32);
  int_key("server.header_timeout_ms", [](Config& c) -> int& { return c.server.header_timeout_ms; }, 1, 3600000);
  int_key("server.request_timeout_ms", [](Config& c) -> int& { return c.server.request_timeout_ms; }, 1, 3600000);
  int_key("server.drain_timeout_ms", [](Config& c) -> int& { return c.server.drain_timeout_ms; }, 0, 3600000);
  int_key("server.idle_timeout_ms", [](Config& c) -> int& { return c.server.idle_timeout_ms; }, 1, 3600000);
  using Path = std::filesystem::path;
  string_key("server.tls.cert_file", [](Config& c) -> Path& { return c.server.tls.cert_file; }, nullptr);
  string_key("server.tls.key_file", [](Config& c) -> Path& { return c.server.tls.key_file; }, nullptr);
  string_key("server.tls.client_ca_file", [](Config& c) -> Path& { return c.server.tls.client_ca_file; }, nullptr);
  bool_key("server.tls.require_client_certificate",
           [](Config& c) -> bool& { return c.server.tls.require_client_certificate; });
  string_key("server.tls.min_version", [](Config& c) -> std::string& { return c.server.tls.min_version; },
             [](const std::string& v) {
               return v == "1.2" || v == "1.3" ? std::string() : fmt::format("must be \"1.2\" or \"1.3\", got '{}'", v);
             });
  string_key("models.repository", [](Config& c) -> std::filesystem::path& { return c.models.repository; },
             [](const std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); });
  string_key("models.default_model", [](Config& c) -> std::string& { return c.models.default_model; }, nullptr);
  int_key("models.max_queue", [](Config& c) -> int& { return c.models.max_queue; }, 1, 1000000);
  string_key("models.load_policy", [](Config& c) -> std::string& { return c.models.load_policy; }, [](const std::string& v) {
    return v == "eager" || v == "lazy" ? std::string() : fmt::format("must be eager or lazy, got '{}'", v);
  });
  string_key("models.version_policy", [](Config& c) -> std::string& { return c.models.version_policy; },
             [](const std::string& v) {
               VersionPolicy policy;
               Status s = parse_version_policy(v, policy);
               return s.is_ok() ? std::string() : s.message();
             });
  int_key("models.poll_interval_ms", [](Config& c) -> int& { return c.models.poll_interval_ms; }, 0, 3600000);
  int_key("models.unload_timeout_ms", [](Config& c) -> int& { return c.models.unload_timeout_ms; }, 1, 3600000);
  int_key("models.memory_budget_bytes", [](Config& c) -> int64_t& { return c.models.memory_budget_bytes; }, 0,
          int64_t{1} << 50);
  string_key("log.level", [](Config& c) -> std::string& { return c.log.level; }, [](const std::string& v) {
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "off"};
    return kLevels.count(v) ? std::string() : fmt::format("must be one of trace, debug, info, warn, error, off; got '{}'", v);
  });
  bool_key("log.access_log", [](Config& c) -> bool& { return c.log.access_log; });
  string_key("registry.location", [](Config& c) -> std::string& { return c.registry.location; },
             [](const std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); });
  k.push_back({"routing.environments", [](Config& c, const std::string& text) -> std::string {
                 std::vector<std::string> names;
                 std::stringstream in(text);
                 for (std::string name; std::getline(in, name, ',');) {
                   if (!is_valid_model_name(name)) return fmt::format("'{}' is not a valid environment name", name);
                   names.push_back(name);
                 }
                 if (names.empty()) return "must name at least one environment";
                 c.routing.environments = std::move(names);
                 return "";
               },
               true});
  string_key("routing.default_environment", [](Config& c) -> std::string& { return c.routing.default_environment; }, nullptr);
  int_key("control.tick_interval_ms", [](Config& c) -> int& { return c.control.tick_interval_ms; }, 10, 3600000);
  std::set<std::string_view> sections;
  for (const GuardRow& row : guard_table()) {
    if (row.on == Switch::kAlways || !sections.insert(row.section).second) continue;
    bool_key(fmt::format("guards.{}.enabled", row.section),
             [name = std::string(row.section)](Config& c) -> bool& { return c.guards.enabled[name]; });
  }
  int_key("guards.fault_injection.max_active", [](Config& c) -> int& { return c.guards.fault_injection.max_active; }, 0,
          1000000);
  bool_key("guards.fault_injection.allow_request_headers",
           [](Config& c) -> bool& { return c.guards.fault_injection.allow_request_headers; });
  int_key("guards.cache.max_bytes", [](Config& c) -> int64_t& { return c.guards.cache.max_bytes; }, 0, int64_t{1} << 40);
  int_key("guards.cache.ttl_ms", [](Config& c) -> int& { return c.guards.cache.ttl_ms; }, 1, 7 * 86400000);
  int_key("guards.cache.stale_while_revalidate_ms",
          [](Config& c) -> int& { return c.guards.cache.stale_while_revalidate_ms; }, 0, 86400000);
  int_key("guards.cache.stale_if_error_ms", [](Config& c) -> int& { return c.guards.cache.stale_if_error_ms; }, 0,
          7 * 86400000);
  k.push_back({"guards.cache.store", [](Config& c, const std::string& v) -> std::string {
                 if (v == "local") c.guards.cache.store = CacheSettings::Store::kLocal;
                 else if (v == "redis") c.guards.cache.store = CacheSettings::Store::kRedis;
                 else return fmt::format("must be local or redis, got '{}'", v);
                 return "";
               }});
  bool_key("guards.cache.per_tenant", [](Config& c) -> bool& { return c.guards.cache.per_tenant; });
  k.push_back({"guards.circuit_breaker.window", [](Config& c, const std::string& v) -> std::string {
                 using Window = CircuitBreakerSettings::Window;
                 if (v == "count") c.guards.circuit_breaker.window = Window::kCount;
                 else if (v == "time") c.guards.circuit_breaker.window = Window::kTime;
                 else return fmt::format("must be count or time, got '{}'", v);
                 return "";
               }});
  int_key("guards.circuit_breaker.window_size", [](Config& c) -> int& { return c.guards.circuit_breaker.window_size; },
          1, 100000);
  int_key("guards.circuit_breaker.window_s", [](Config& c) -> int& { return c.guards.circuit_breaker.window_s; }, 1,
          3600);
  int_key("guards.circuit_breaker.minimum_calls",
          [](Config& c) -> int& { return c.guards.circuit_breaker.minimum_calls; }, 1, 1000000);
  int_key("guards.circuit_breaker.failure_rate_percent",
          [](Config& c) -> int& { return c.guards.circuit_breaker.failure_rate_percent; }, 1, 100);
  int_key("guards.circuit_breaker.slow_call_ms",
          [](Config& c) -> int64_t& { return c.guards.circuit_breaker.slow_call_ms; }, 1, 3600000);
  int_key("guards.circuit_breaker.slow_call_rate_percent",
          [](Config& c) -> int& { return c.guards.circuit_breaker.slow_call_rate_percent; }, 1, 100);
  int_key("guards.circuit_breaker.open_ms", [](Config& c) -> int64_t& { return c.guards.circuit_breaker.open_ms; }, 1,
          3600000);
  int_key("guards.circuit_breaker.half_open_calls",
          [](Config& c) -> int& { return c.guards.circuit_breaker.half_open_calls; }, 1, 10000);
  int_key("guards.retry.max_retries", [](Config& c) -> int& { return c.guards.retry.max_retries; }, 0, 10);
  k.push_back({"guards.retry.retry_on", [](Config& c, const std::string& text) -> std::string {
                 uint32_t mask = 0;
                 std::stringstream in(text);
                 for (std::string name; std::getline(in, name, ',');) {
                   const auto reason = parse_retry_reason(name);
                   if (!reason) return fmt::format("'{}' is not one of connect_failure, reset, 502, 503, 504", name);
                   mask |= 1u << static_cast<unsigned>(*reason);
                 }
                 c.guards.retry.retry_on = mask;
                 return "";
               },
               true});
  int_key("guards.retry.backoff_base_ms", [](Config& c) -> int& { return c.guards.retry.backoff_base_ms; }, 0, 60000);
  int_key("guards.retry.backoff_max_ms", [](Config& c) -> int& { return c.guards.retry.backoff_max_ms; }, 0, 600000);
  int_key("guards.retry.budget_percent", [](Config& c) -> double& { return c.guards.retry.budget_percent; }, 0, 100);
  int_key("guards.retry.min_retry_concurrency",
          [](Config& c) -> int& { return c.guards.retry.min_retry_concurrency; }, 0, 100000);
  bool_key("guards.retry.idempotent", [](Config& c) -> bool& { return c.guards.retry.idempotent; });
  k.push_back({"guards.retry.non_idempotent_deployments", [](Config& c, const std::string& text) -> std::string {
                 std::vector<std::string> names;
                 std::stringstream in(text);
                 for (std::string name; std::getline(in, name, ',');) names.push_back(name);
                 c.guards.retry.non_idempotent_deployments = std::move(names);
                 return "";
               },
               true});
  bool_key("guards.retry.hedge.enabled", [](Config& c) -> bool& { return c.guards.retry.hedge.enabled; });
  k.push_back({"guards.retry.hedge.delay", [](Config& c, const std::string& text) -> std::string {
                 if (text == "p95") {
                   c.guards.retry.hedge.delay_ms = 0;
                   return "";
                 }
                 int64_t ms = 0;
                 if (!set_int(ms, text, 1, 3600000).empty()) {
                   return fmt::format("must be p95 or a number of milliseconds from 1 to 3600000, got '{}'", text);
                 }
                 c.guards.retry.hedge.delay_ms = static_cast<int>(ms);
                 return "";
               }});
  int_key("guards.retry.hedge.max_hedges", [](Config& c) -> int& { return c.guards.retry.hedge.max_hedges; }, 1, 4);
  bool_key("guards.auth.jwt.enabled", [](Config& c) -> bool& { return c.guards.auth.jwt.enabled; });
  string_key("guards.auth.jwt.issuer", [](Config& c) -> std::string& { return c.guards.auth.jwt.policy.issuer; }, nullptr);
  k.push_back({"guards.auth.jwt.audiences", [](Config& c, const std::string& text) -> std::string {
                 std::vector<std::string> audiences;
                 std::stringstream in(text);
                 for (std::string audience; std::getline(in, audience, ',');) audiences.push_back(audience);
                 c.guards.auth.jwt.policy.audiences = std::move(audiences);
                 return "";
               },
               true});
  k.push_back({"guards.auth.jwt.clock_skew_s", [](Config& c, const std::string& text) -> std::string {
                 int64_t seconds = 0;
                 std::string error = set_int(seconds, text, 0, 3600);
                 if (error.empty()) c.guards.auth.jwt.policy.clock_skew = std::chrono::seconds(seconds);
                 return error;
               }});
  for (auto [name, field] : {std::pair{"subject_claim", &JwtPolicy::subject_claim}, std::pair{"roles_claim", &JwtPolicy::roles_claim},
                             std::pair{"tenant_claim", &JwtPolicy::tenant_claim}}) {
    string_key(fmt::format("guards.auth.jwt.{}", name),
               // An init-capture: clang 14 cannot capture a structured binding.
               [member = field](Config& c) -> std::string& { return c.guards.auth.jwt.policy.*member; },
               [](const std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); });
  }
  bool_key("guards.auth.jwt.require_expiry", [](Config& c) -> bool& { return c.guards.auth.jwt.policy.require_expiry; });
  string_key("guards.auth.jwt.jwks_file", [](Config& c) -> std::string& { return c.guards.auth.jwt.jwks_file; }, nullptr);
  string_key("redis.address", [](Config& c) -> std::string& { return c.redis.address; }, [](const std::string& v) {
    std::string host, port;
    return v.empty() || split_host_port(v, host, port) ? std::string() : fmt::format("'{}' is not host:port", v);
  });
  string_key("redis.password", [](Config& c) -> std::string& { return c.redis.password; }, nullptr);
  int_key("redis.database", [](Config& c) -> int& { return c.redis.database; }, 0, 1000);
  int_key("redis.connect_timeout_ms", [](Config& c) -> int& { return c.redis.connect_timeout_ms; }, 1, 60000);
  int_key("redis.command_timeout_ms", [](Config& c) -> int& { return c.redis.command_timeout_ms; }, 1, 60000);
  k.push_back({"guards.rate_limit.store", [](Config& c, const std::string& v) -> std::string {
                 if (v == "local") c.guards.rate_limit.store = RateLimitSettings::Store::kLocal;
                 else if (v == "redis") c.guards.rate_limit.store = RateLimitSettings::Store::kRedis;
                 else return fmt::format("must be local or redis, got '{}'", v);
                 return "";
               }});
  k.push_back({"guards.rate_limit.on_redis_failure", [](Config& c, const std::string& v) -> std::string {
                 using F = RateLimitSettings::OnRedisFailure;
                 if (v == "open") c.guards.rate_limit.on_redis_failure = F::kOpen;
                 else if (v == "closed") c.guards.rate_limit.on_redis_failure = F::kClosed;
                 else if (v == "local") c.guards.rate_limit.on_redis_failure = F::kLocal;
                 else return fmt::format("must be open, closed or local, got '{}'", v);
                 return "";
               }});
  // guards.admission: numbers that are not whole (tolerance, shares) go through strtod.
  auto double_key = [&k](std::string path, auto getter, double min, double max) {
    k.push_back({std::move(path), [getter, min, max](Config& c, const std::string& text) -> std::string {
                   char* end = nullptr;
                   const double value = std::strtod(text.c_str(), &end);
                   if (text.empty() || end != text.c_str() + text.size()) return fmt::format("must be a number, got '{}'", text);
                   if (!(value >= min && value <= max)) return fmt::format("must be between {} and {}, got {}", min, max, value);
                   getter(c) = value;
                   return "";
                 }});
  };
  int_key("guards.admission.min_limit", [](Config& c) -> int& { return c.guards.admission.gradient.min_limit; }, 1, 100000);
  int_key("guards.admission.max_limit", [](Config& c) -> int& { return c.guards.admission.gradient.max_limit; }, 1, 100000);
  int_key("guards.admission.initial_limit", [](Config& c) -> int& { return c.guards.admission.gradient.initial_limit; }, 1,
          100000);
  double_key("guards.admission.tolerance", [](Config& c) -> double& { return c.guards.admission.gradient.tolerance; }, 1, 100);
  double_key("guards.admission.smoothing", [](Config& c) -> double& { return c.guards.admission.gradient.smoothing; }, 0.01, 1);
  int_key("guards.admission.long_window", [](Config& c) -> int& { return c.guards.admission.gradient.long_window; }, 1, 100000);
  int_key("guards.admission.headroom", [](Config& c) -> int& { return c.guards.admission.gradient.headroom; }, 0, 10000);
  int_key("guards.admission.max_queue", [](Config& c) -> int& { return c.guards.admission.max_queue; }, 0, 1000000);
  k.push_back({"guards.admission.max_queue_wait_ms", [](Config& c, const std::string& text) -> std::string {
                 int64_t ms = 0;
                 std::string error = set_int(ms, text, 0, 3600000);
                 if (error.empty()) c.guards.admission.max_queue_wait = std::chrono::milliseconds(ms);
                 return error;
               }});
  k.push_back({"guards.admission.sample_window_ms", [](Config& c, const std::string& text) -> std::string {
                 int64_t ms = 0;
                 std::string error = set_int(ms, text, 1, 3600000);
                 if (error.empty()) c.guards.admission.sample_window = std::chrono::milliseconds(ms);
                 return error;
               }});
  int_key("guards.admission.min_window_samples", [](Config& c) -> int& { return c.guards.admission.min_window_samples; },
          1, 1000000);
  double_key("guards.admission.low_share", [](Config& c) -> double& { return c.guards.admission.low_share; }, 0.01, 1);
  double_key("guards.admission.normal_share", [](Config& c) -> double& { return c.guards.admission.normal_share; }, 0.01, 1);
  k.push_back({"guards.auth.open_paths", [](Config& c, const std::string& text) -> std::string {
                 std::vector<std::string> paths;
                 std::stringstream in(text);
                 for (std::string path; std::getline(in, path, ',');) {
                   if (path.empty() || path[0] != '/') return fmt::format("'{}' is not a path (it must start with '/')", path);
                   paths.push_back(path);
                 }
                 c.guards.auth.open_paths = std::move(paths);
                 return "";
               },
               true});
  return k;
}

// "server.max_body_bytes" -> "SERAPH_SERVER_MAX_BODY_BYTES"
std::string env_name(const std::string& path) {
  std::string name = "SERAPH_";
  for (char c : path) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

bool is_postgres_url(const std::string& location) {
  return location.rfind("postgres://", 0) == 0 || location.rfind("postgresql://", 0) == 0;
}

// Reads `node` (when present) into `out`, or records that it has the wrong type.
template <class T>
void read_scalar(const YAML::Node& node, const std::string& path, T& out, std::vector<std::string>& errors) {
  if (!node) return;
  try {
    out = node.as<T>();
  } catch (const YAML::Exception&) {
    errors.push_back(fmt::format("{}: has the wrong type", path));
  }
}

// Calls `read(node, "key[i]")` for each item of the top-level list `key`; what is not a list of
// mappings is an error.
template <class Read>
void for_each_mapping(const YAML::Node& list, const std::string& key, std::vector<std::string>& errors, Read read) {
  if (!list.IsSequence()) {
    errors.push_back(key + ": must be a list");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("{}[{}]", key, i);
    if (!list[i].IsMap()) {
      errors.push_back(where + ": must be a mapping");
      continue;
    }
    read(list[i], where);
  }
}

// Records an error for each key of the mapping `node` that is not in `known`, naming the keys there
// are: a misspelt key (`wieght: 10`) would otherwise leave its setting at the default unnoticed.
void reject_unknown_keys(const YAML::Node& node, const std::string& at, std::initializer_list<std::string_view> known,
                         std::vector<std::string>& errors) {
  if (!node.IsMap()) return;  // the readers report a wrong shape themselves
  for (const auto& field : node) {
    const std::string key = field.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      errors.push_back(fmt::format("{}.{}: unknown key (use {})", at, key, fmt::join(known, ", ")));
    }
  }
}

void read_fault(const YAML::Node& f, const std::string& at, FaultSpec& fault, std::vector<std::string>& errors) {
  reject_unknown_keys(f, at, {"delay_ms", "delay_percent", "abort_percent", "abort_status"}, errors);
  read_scalar(f["delay_ms"], at + ".delay_ms", fault.delay_ms, errors);
  read_scalar(f["delay_percent"], at + ".delay_percent", fault.delay_percent, errors);
  read_scalar(f["abort_percent"], at + ".abort_percent", fault.abort_percent, errors);
  read_scalar(f["abort_status"], at + ".abort_status", fault.abort_status, errors);
}

// The `backends:` list: each a name, endpoints ["host:port", ...], timeouts, bounds, health_check
// and outlier settings (models/remote/remote_config.h), checked here so that errors name the key,
// and the faults injected into it (kept in guards.fault_injection.backends: models/ knows no faults).
// A backend's `circuit_breaker` overrides go to `breaker_overrides` by the backend's index: they
// apply over guards.circuit_breaker, which is known only once the whole config is read.
void read_backends(const YAML::Node& list, Config& config, std::vector<std::string>& errors,
                   std::vector<std::pair<size_t, YAML::Node>>& breaker_overrides) {
  for_each_mapping(list, "backends", errors, [&](const YAML::Node& node, const std::string& where) {
    RemoteBackendConfig b;
    reject_unknown_keys(node, where,
                        {"name", "endpoints", "connect_timeout_ms", "request_timeout_ms", "max_connections",
                         "max_pending", "health_check", "outlier", "circuit_breaker", "fault"},
                        errors);
    auto scalar = [&](const YAML::Node& n, const std::string& key, auto& out) {
      read_scalar(n, where + "." + key, out, errors);
    };
    auto in_range = [&](const std::string& key, int64_t value, int64_t min, int64_t max) {
      if (value < min || value > max)
        errors.push_back(fmt::format("{}.{}: must be between {} and {}, got {}", where, key, min, max, value));
    };
    scalar(node["name"], "name", b.name);
    scalar(node["endpoints"], "endpoints", b.endpoints);
    scalar(node["connect_timeout_ms"], "connect_timeout_ms", b.connect_timeout_ms);
    scalar(node["request_timeout_ms"], "request_timeout_ms", b.request_timeout_ms);
    scalar(node["max_connections"], "max_connections", b.max_connections);
    scalar(node["max_pending"], "max_pending", b.max_pending);
    if (const YAML::Node& h = node["health_check"]) {
      reject_unknown_keys(h, where + ".health_check",
                          {"interval_ms", "timeout_ms", "path", "unhealthy_threshold", "healthy_threshold"}, errors);
      scalar(h["interval_ms"], "health_check.interval_ms", b.health_check.interval_ms);
      scalar(h["timeout_ms"], "health_check.timeout_ms", b.health_check.timeout_ms);
      scalar(h["path"], "health_check.path", b.health_check.path);
      scalar(h["unhealthy_threshold"], "health_check.unhealthy_threshold", b.health_check.unhealthy_threshold);
      scalar(h["healthy_threshold"], "health_check.healthy_threshold", b.health_check.healthy_threshold);
    }
    if (const YAML::Node& o = node["outlier"]) {
      reject_unknown_keys(o, where + ".outlier",
                          {"consecutive_failures", "base_ejection_ms", "max_ejection_ms", "max_ejection_percent"},
                          errors);
      scalar(o["consecutive_failures"], "outlier.consecutive_failures", b.outlier.consecutive_failures);
      scalar(o["base_ejection_ms"], "outlier.base_ejection_ms", b.outlier.base_ejection_ms);
      scalar(o["max_ejection_ms"], "outlier.max_ejection_ms", b.outlier.max_ejection_ms);
      scalar(o["max_ejection_percent"], "outlier.max_ejection_percent", b.outlier.max_ejection_percent);
    }
    if (!is_valid_model_name(b.name)) errors.push_back(fmt::format("{}.name: '{}' is not a valid name", where, b.name));
    for (const RemoteBackendConfig& other : config.backends) {
      if (other.name == b.name) errors.push_back(fmt::format("{}.name: '{}' is used twice", where, b.name));
    }
    if (b.endpoints.empty()) errors.push_back(where + ".endpoints: must list at least one host:port");
    for (size_t e = 0; e < b.endpoints.size(); ++e) {
      std::string host, port;
      if (!split_host_port(b.endpoints[e], host, port)) {
        errors.push_back(fmt::format("{}.endpoints[{}]: '{}' is not host:port", where, e, b.endpoints[e]));
      }
    }
    in_range("connect_timeout_ms", b.connect_timeout_ms, 1, 3600000);
    in_range("request_timeout_ms", b.request_timeout_ms, 1, 3600000);
    in_range("max_connections", b.max_connections, 1, 100000);
    in_range("max_pending", b.max_pending, 1, 10000000);
    in_range("health_check.interval_ms", b.health_check.interval_ms, 10, 3600000);
    in_range("health_check.timeout_ms", b.health_check.timeout_ms, 1, 3600000);
    in_range("health_check.unhealthy_threshold", b.health_check.unhealthy_threshold, 1, 100);
    in_range("health_check.healthy_threshold", b.health_check.healthy_threshold, 1, 100);
    if (b.health_check.path.empty() || b.health_check.path[0] != '/') {
      errors.push_back(fmt::format("{}.health_check.path: must start with '/', got '{}'", where, b.health_check.path));
    }
    in_range("outlier.consecutive_failures", b.outlier.consecutive_failures, 1, 1000000);
    in_range("outlier.base_ejection_ms", b.outlier.base_ejection_ms, 1, 3600000);
    in_range("outlier.max_ejection_ms", b.outlier.max_ejection_ms, 1, 3600000);
    in_range("outlier.max_ejection_percent", b.outlier.max_ejection_percent, 0, 100);
    if (const YAML::Node& c = node["circuit_breaker"]) {
      if (c.IsMap()) {
        breaker_overrides.emplace_back(config.backends.size(), c);
      } else {
        errors.push_back(where + ".circuit_breaker: must be a mapping");
      }
    }
    if (const YAML::Node& f = node["fault"]) {
      FaultSpec fault;
      read_fault(f, where + ".fault", fault, errors);
      if (Status s = validate_fault(fault, where + ".fault"); !s.is_ok()) errors.push_back(s.message());
      config.guards.fault_injection.backends[b.name] = fault;
    }
    config.backends.push_back(std::move(b));
  });
}

// A YAML value as JSON: quoted scalars are strings, unquoted ones booleans or numbers when they read as one.
void write_yaml(const YAML::Node& node, RecordWriter& w) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      w.StartObject();
      for (const auto& entry : node) {
        const std::string key = entry.first.as<std::string>();
        w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        write_yaml(entry.second, w);
      }
      w.EndObject();
      return;
    case YAML::NodeType::Sequence:
      w.StartArray();
      for (const auto& item : node) write_yaml(item, w);
      w.EndArray();
      return;
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() != "!") {
        if (text == "true" || text == "false") return static_cast<void>(w.Bool(text == "true"));
        char* end = nullptr;
        const double number = std::strtod(text.c_str(), &end);
        if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(number)) {
          w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
          return;
        }
      }
      w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
      return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      w.Null();
      return;
  }
}

Status yaml_to_json(const YAML::Node& node, std::string& out) {
  rapidjson::StringBuffer buffer;
  RecordWriter w(buffer);
  write_yaml(node, w);
  if (!w.IsComplete()) return invalid_argument("could not be written as JSON");
  out.assign(buffer.GetString(), buffer.GetSize());
  return {};
}

// The `deployments:` list: each a name, an environment (default: routing.default_environment), an
// optional sticky header, variants {name, model, version, weight, role, fault, backend}, and the
// policy: priority, fault, fallback.
void read_deployments(const YAML::Node& list, Config& config, std::vector<std::string>& errors) {
  auto scalar = [&](const YAML::Node& node, const std::string& path, auto& out) {
    read_scalar(node, path, out, errors);
  };
  for_each_mapping(list, "deployments", errors, [&](const YAML::Node& node, const std::string& where) {
    DeploymentRecord d;
    reject_unknown_keys(node, where, {"name", "environment", "sticky_header", "variants", "priority", "fault", "fallback"},
                        errors);
    scalar(node["name"], where + ".name", d.name);
    scalar(node["environment"], where + ".environment", d.environment);
    scalar(node["sticky_header"], where + ".sticky_header", d.sticky_header);
    const YAML::Node& variants = node["variants"];
    if (!variants || !variants.IsSequence()) {
      errors.push_back(where + ".variants: must be a list");
      return;
    }
    for (size_t j = 0; j < variants.size(); ++j) {
      const YAML::Node& v = variants[j];
      const std::string at = fmt::format("{}.variants[{}]", where, j);
      if (!v.IsMap()) {
        errors.push_back(at + ": must be a mapping");
        continue;
      }
      reject_unknown_keys(v, at, {"name", "model", "version", "weight", "role", "backend", "fault"}, errors);
      VariantRecord variant;
      variant.role = j == 0 ? "baseline" : "candidate";
      scalar(v["model"], at + ".model", variant.model);
      scalar(v["version"], at + ".version", variant.version);
      scalar(v["weight"], at + ".weight", variant.weight);
      scalar(v["role"], at + ".role", variant.role);
      scalar(v["backend"], at + ".backend", variant.backend);
      variant.name = variant.role;
      scalar(v["name"], at + ".name", variant.name);
      if (const YAML::Node& f = v["fault"]) read_fault(f, at + ".fault", variant.fault, errors);
      d.variants.push_back(std::move(variant));
    }
    scalar(node["priority"], where + ".priority", d.policy.priority);
    if (const YAML::Node& f = node["fault"]) read_fault(f, where + ".fault", d.policy.fault, errors);
    if (const YAML::Node& fallback = node["fallback"]) {
      // One reader for the admin API's JSON and this YAML: the steps go through JSON.
      std::string json;
      if (Status s = yaml_to_json(fallback, json); !s.is_ok()) {
        errors.push_back(fmt::format("{}.fallback: {}", where, s.message()));
      } else if (Status s = fallback_from_json(json, d.policy.fallback, UnknownMembers::kReject); !s.is_ok()) {
        errors.push_back(fmt::format("{}.{}", where, s.message()));
      }
    }
    config.deployments.push_back(std::move(d));
  });
}

// Calls `read(name, node, "where.name")` for each entry of `map`, a mapping of deployment names to
// mappings with the fields `fields` names; what is not is an error naming its key.
template <class Read>
void for_each_deployment(const YAML::Node& map, const std::string& where, std::string_view fields,
                         std::vector<std::string>& errors, Read read) {
  if (!map.IsMap()) {
    errors.push_back(fmt::format("{}: must be a mapping of deployment names to {{{}}}", where, fields));
    return;
  }
  for (const auto& entry : map) {
    const std::string name = entry.first.as<std::string>();
    const std::string at = where + "." + name;
    if (!is_valid_model_name(name)) errors.push_back(fmt::format("{}: '{}' is not a valid deployment name", at, name));
    if (!entry.second.IsMap()) {
      errors.push_back(fmt::format("{}: must be a mapping with {}", at, fields));
      continue;
    }
    read(name, entry.second, at);
  }
}

// guards.auth.deployments: {<name>: {subjects: [...], tenants: [...]}}.
void read_allow_lists(const YAML::Node& map, const std::string& where, Config& config, std::vector<std::string>& errors) {
  for_each_deployment(map, where, "subjects, tenants", errors, [&](const std::string& name, const YAML::Node& node,
                                                                   const std::string& at) {
    AllowList allowed;
    for (const auto& field : node) {
      const std::string key = field.first.as<std::string>();
      if (key == "subjects") read_scalar(field.second, at + ".subjects", allowed.subjects, errors);
      else if (key == "tenants") read_scalar(field.second, at + ".tenants", allowed.tenants, errors);
      else errors.push_back(fmt::format("{}.{}: unknown key (use subjects or tenants)", at, key));
    }
    if (allowed.subjects.empty() && allowed.tenants.empty()) errors.push_back(at + ": lists no subjects and no tenants");
    config.guards.auth.deployments[name] = std::move(allowed);
  });
}

// guards.cache.deployments: {<name>: {enabled, ttl_ms}}.
void read_cache_deployments(const YAML::Node& map, const std::string& where, Config& config,
                            std::vector<std::string>& errors) {
  for_each_deployment(map, where, "enabled, ttl_ms", errors, [&](const std::string& name, const YAML::Node& node,
                                                                 const std::string& at) {
    CacheSettings::Deployment d;
    for (const auto& field : node) {
      const std::string key = field.first.as<std::string>();
      if (key == "enabled") read_scalar(field.second, at + ".enabled", d.enabled, errors);
      else if (key == "ttl_ms") read_scalar(field.second, at + ".ttl_ms", d.ttl_ms, errors);
      else errors.push_back(fmt::format("{}.{}: unknown key (use enabled or ttl_ms)", at, key));
    }
    if (d.ttl_ms < 0) errors.push_back(fmt::format("{}.ttl_ms: must not be negative, got {}", at, d.ttl_ms));
    config.guards.cache.deployments[name] = d;
  });
}

// guards.auth.jwt.keys: [{kid, alg, secret_file | secret_env | public_key_file}]; a secret is never
// written in the config itself. Relative files are taken from `base`, the config file's directory.
void read_jwt_keys(const YAML::Node& list, const std::string& where, const std::filesystem::path& base, Config& config,
                   std::vector<std::string>& errors) {
  for_each_mapping(list, where, errors, [&](const YAML::Node& node, const std::string& at) {
    JwtKeyConfig key;
    std::string alg, secret_file, secret_env;
    for (const auto& field : node) {
      const std::string name = field.first.as<std::string>();
      const std::string path = at + "." + name;
      if (name == "kid") read_scalar(field.second, path, key.kid, errors);
      else if (name == "alg") read_scalar(field.second, path, alg, errors);
      else if (name == "secret_file") read_scalar(field.second, path, secret_file, errors);
      else if (name == "secret_env") read_scalar(field.second, path, secret_env, errors);
      else if (name == "public_key_file") read_scalar(field.second, path, key.public_key_file, errors);
      else errors.push_back(fmt::format("{}: unknown key (use kid, alg, secret_file, secret_env, public_key_file)", path));
    }
    const auto algorithm = parse_jwt_algorithm(alg);
    if (!algorithm) {
      errors.push_back(fmt::format("{}.alg: must be HS256, RS256 or ES256, got '{}'", at, alg));
      return;
    }
    key.algorithm = *algorithm;
    const bool hmac = key.algorithm == JwtAlgorithm::kHs256;
    if (hmac != (!secret_file.empty() || !secret_env.empty()) || hmac == !key.public_key_file.empty()) {
      errors.push_back(at + ": HS256 takes secret_file or secret_env; RS256 and ES256 take public_key_file");
      return;
    }
    if (!secret_env.empty()) {
      const char* value = std::getenv(secret_env.c_str());
      if (!value) errors.push_back(fmt::format("{}.secret_env: {} is not set", at, secret_env));
      else key.secret = value;
    }
    if (!secret_file.empty()) {
      std::ifstream in(base / secret_file, std::ios::binary);
      std::stringstream content;
      content << in.rdbuf();
      if (!in) errors.push_back(fmt::format("{}.secret_file: cannot read {}", at, (base / secret_file).string()));
      key.secret = content.str();
      while (!key.secret.empty() && (key.secret.back() == '\n' || key.secret.back() == '\r')) key.secret.pop_back();
    }
    if (!key.public_key_file.empty()) key.public_key_file = (base / key.public_key_file).string();
    config.guards.auth.jwt.keys.push_back(std::move(key));
  });
}

// guards.rate_limit.rules: [{name, limit, period_ms, burst, key, cost, deployments}].
void read_rate_limit_rules(const YAML::Node& list, const std::string& where, Config& config,
                           std::vector<std::string>& errors) {
  for_each_mapping(list, where, errors, [&](const YAML::Node& node, const std::string& at) {
    RateLimitRuleSettings r;
    std::string key = "client", cost = "request";
    int64_t period_ms = 1000;
    for (const auto& field : node) {
      const std::string name = field.first.as<std::string>();
      const std::string path = at + "." + name;
      if (name == "name") read_scalar(field.second, path, r.rule.name, errors);
      else if (name == "limit") read_scalar(field.second, path, r.rule.limit, errors);
      else if (name == "period_ms") read_scalar(field.second, path, period_ms, errors);
      else if (name == "burst") read_scalar(field.second, path, r.rule.burst, errors);
      else if (name == "key") read_scalar(field.second, path, key, errors);
      else if (name == "cost") read_scalar(field.second, path, cost, errors);
      else if (name == "deployments") read_scalar(field.second, path, r.deployments, errors);
      else errors.push_back(fmt::format("{}: unknown key (use name, limit, period_ms, burst, key, cost, deployments)", path));
    }
    r.rule.period = std::chrono::milliseconds(period_ms);
    if (Status s = parse_rate_limit_key(key, r); !s.is_ok()) errors.push_back(fmt::format("{}: {}", at, s.message()));
    if (Status s = parse_rate_limit_cost(cost, r); !s.is_ok()) errors.push_back(fmt::format("{}: {}", at, s.message()));
    if (Status s = validate_rate_limit_rule(r.rule); !s.is_ok()) errors.push_back(fmt::format("{}: {}", at, s.message()));
    for (const RateLimitRuleSettings& other : config.guards.rate_limit.rules) {
      if (other.rule.name == r.rule.name) errors.push_back(fmt::format("{}.name: '{}' is used twice", at, r.rule.name));
    }
    config.guards.rate_limit.rules.push_back(std::move(r));
  });
}

// guards.content.deployments: {<name>: {prompt_injection, extra_patterns, deny, redact_outputs}},
// compiled here so that a bad pattern is a config error naming its key.
void read_content_rules(const YAML::Node& map, const std::string& where, Config& config,
                        std::vector<std::string>& errors) {
  const std::string_view fields = "prompt_injection, extra_patterns, deny, redact_outputs";
  for_each_deployment(map, where, fields, errors, [&](const std::string& name, const YAML::Node& node,
                                                      const std::string& at) {
    const size_t errors_before = errors.size();
    ContentRulesSpec spec;
    for (const auto& field : node) {
      const std::string key = field.first.as<std::string>();
      const std::string path = at + "." + key;
      if (key == "prompt_injection") {
        read_scalar(field.second, path, spec.prompt_injection, errors);
      } else if (key == "extra_patterns") {
        read_scalar(field.second, path, spec.extra_patterns, errors);
      } else if (key == "deny") {
        read_scalar(field.second, path, spec.deny, errors);
      } else if (key == "redact_outputs") {
        std::vector<std::string> kinds;
        read_scalar(field.second, path, kinds, errors);
        for (size_t i = 0; i < kinds.size(); ++i) {
          if (auto kind = parse_personal_data(kinds[i])) spec.redact_outputs.push_back(*kind);
          else errors.push_back(fmt::format("{}[{}]: unknown kind '{}' (use email, phone, card)", path, i, kinds[i]));
        }
      } else {
        errors.push_back(fmt::format("{}: unknown key (use prompt_injection, extra_patterns, deny, redact_outputs)", path));
      }
    }
    if (errors.size() != errors_before) return;
    std::shared_ptr<const ContentRules> rules;
    if (Status s = ContentRules::compile(spec, at, rules); !s.is_ok()) return errors.push_back(s.message());
    config.guards.content.deployments[name] = std::move(rules);
  });
}

// guards.auth.client_certificates: [{subject, roles, deployments, tenant}].
void read_client_certificates(const YAML::Node& list, const std::string& where, Config& config,
                              std::vector<std::string>& errors) {
  for_each_mapping(list, where, errors, [&](const YAML::Node& node, const std::string& at) {
    ClientCertificateGrant grant;
    std::vector<std::string> roles;
    for (const auto& field : node) {
      const std::string name = field.first.as<std::string>();
      const std::string path = at + "." + name;
      if (name == "subject") read_scalar(field.second, path, grant.subject, errors);
      else if (name == "roles") read_scalar(field.second, path, roles, errors);
      else if (name == "deployments") read_scalar(field.second, path, grant.deployments, errors);
      else if (name == "tenant") read_scalar(field.second, path, grant.tenant, errors);
      else errors.push_back(fmt::format("{}: unknown key (use subject, roles, deployments, tenant)", path));
    }
    if (grant.subject.empty()) errors.push_back(at + ".subject: must name the certificate's subject");
    for (const ClientCertificateGrant& other : config.guards.auth.client_certificates) {
      if (other.subject == grant.subject) {
        errors.push_back(fmt::format("{}.subject: '{}' is listed twice", at, grant.subject));
      }
    }
    if (roles.empty()) errors.push_back(at + ".roles: must list at least one role");
    for (const std::string& role : roles) {
      if (auto parsed = parse_role(role)) grant.roles |= static_cast<RoleSet>(*parsed);
      else errors.push_back(fmt::format("{}.roles: '{}' is not a role (use reader, predictor, admin)", at, role));
    }
    for (const std::string& deployment : grant.deployments) {
      if (!is_valid_model_name(deployment)) {
        errors.push_back(fmt::format("{}.deployments: '{}' is not a valid deployment name", at, deployment));
      }
    }
    config.guards.auth.client_certificates.push_back(std::move(grant));
  });
}

// guards.auth.keys: [{id, name, sha256, roles, deployments, tenant, priority}]; ApiKeys checks each record.
void read_api_keys(const YAML::Node& list, const std::string& where, Config& config, std::vector<std::string>& errors) {
  for_each_mapping(list, where, errors, [&](const YAML::Node& node, const std::string& at) {
    ApiKeyRecord key;
    for (const auto& field : node) {
      const std::string name = field.first.as<std::string>();
      const std::string path = at + "." + name;
      if (name == "id") read_scalar(field.second, path, key.id, errors);
      else if (name == "name") read_scalar(field.second, path, key.name, errors);
      else if (name == "sha256") read_scalar(field.second, path, key.secret_sha256, errors);
      else if (name == "roles") read_scalar(field.second, path, key.roles, errors);
      else if (name == "deployments") read_scalar(field.second, path, key.deployments, errors);
      else if (name == "tenant") read_scalar(field.second, path, key.tenant, errors);
      else if (name == "priority") read_scalar(field.second, path, key.priority, errors);
      else errors.push_back(fmt::format("{}: unknown key (use id, name, sha256, roles, deployments, tenant, priority)",
                                        path));
    }
    config.api_keys.push_back(std::move(key));
  });
}

// server.tls: a certificate and its key go together, a client CA needs them, and every file named
// must be there (its contents are checked when the server loads them).
// Relative paths from the environment are taken from the working directory.
void check_tls(ServerSettings::Tls& tls, std::vector<std::string>& errors) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    errors.push_back(tls.cert_file.empty() ? "server.tls.cert_file: must be set with server.tls.key_file"
                                           : "server.tls.key_file: must be set with server.tls.cert_file");
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    errors.push_back("server.tls.client_ca_file: needs server.tls.cert_file and server.tls.key_file");
  }
  if (tls.require_client_certificate && tls.client_ca_file.empty()) {
    errors.push_back("server.tls.require_client_certificate: needs server.tls.client_ca_file to verify them against");
  }
  const std::pair<const char*, std::filesystem::path*> files[] = {
      {"server.tls.cert_file", &tls.cert_file}, {"server.tls.key_file", &tls.key_file},
      {"server.tls.client_ca_file", &tls.client_ca_file}};
  for (const auto& [key, path] : files) {
    if (path->empty()) continue;
    *path = std::filesystem::absolute(*path);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      errors.push_back(fmt::format("{}: no file at {}", key, path->string()));
    }
  }
}

}  // namespace

std::vector<std::string> load_config(const std::filesystem::path& file, Config& config) {
  std::vector<std::string> errors;
  const std::vector<Key> settable = keys();
  auto find_key = [&](const std::string& path) -> const Key* {
    for (const auto& key : settable) {
      if (key.path == path) return &key;
    }
    return nullptr;
  };

  std::vector<std::pair<size_t, YAML::Node>> breaker_overrides;  // by backend index
  if (!file.empty()) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(file.string());
    } catch (const YAML::Exception& e) {
      return {fmt::format("{}: {}", file.string(), e.what())};
    }
    if (root && !root.IsNull() && !root.IsMap()) return {fmt::format("{}: the top level must be a mapping", file.string())};
    // The keys of a mapping, by path; a nested mapping (guards.<name>.enabled) is walked into.
    std::function<void(const YAML::Node&, const std::string&)> read_keys = [&](const YAML::Node& map,
                                                                               const std::string& prefix) {
      for (const auto& entry : map) {
        const std::string path = prefix + "." + entry.first.as<std::string>();
        if (path == "guards.auth.deployments") {
          read_allow_lists(entry.second, path, config, errors);
          continue;
        }
        if (path == "guards.cache.deployments") {
          read_cache_deployments(entry.second, path, config, errors);
          continue;
        }
        if (path == "guards.auth.jwt.keys") {
          read_jwt_keys(entry.second, path, std::filesystem::absolute(file).parent_path(), config, errors);
          continue;
        }
        if (path == "guards.rate_limit.rules") {
          read_rate_limit_rules(entry.second, path, config, errors);
          continue;
        }
        if (path == "guards.content.deployments") {
          read_content_rules(entry.second, path, config, errors);
          continue;
        }
        if (path == "guards.auth.client_certificates") {
          read_client_certificates(entry.second, path, config, errors);
          continue;
        }
        if (path == "guards.auth.keys") {
          read_api_keys(entry.second, path, config, errors);
          continue;
        }
        const Key* key = find_key(path);
        if (!key && entry.second.IsMap()) {
          read_keys(entry.second, path);
          continue;
        }
        if (!key) {
          errors.push_back(fmt::format("{}: unknown key", path));
          continue;
        }
        std::string value;
        if (key->list && entry.second.IsSequence()) {
          for (const auto& item : entry.second) value += (value.empty() ? "" : ",") + item.as<std::string>();
        } else if (entry.second.IsScalar()) {
          value = entry.second.as<std::string>();
        } else {
          errors.push_back(fmt::format("{}: must be a single value", path));
          continue;
        }
        if (std::string error = key->set(config, value); !error.empty()) {
          errors.push_back(fmt::format("{}: {}", path, error));
        }
      }
    };
    // The readers check the shapes they expect; a shape one does not check (a list where a key
    // should be, a scalar where a mapping should be) makes yaml-cpp throw, which is a problem in the
    // file, reported with its line and column.
    try {
      for (const auto& section : root) {
        const std::string section_name = section.first.as<std::string>();
        if (section.second.IsNull()) continue;  // a section whose keys are all commented out
        if (section_name == "deployments") {
          read_deployments(section.second, config, errors);
          continue;
        }
        if (section_name == "backends") {
          read_backends(section.second, config, errors, breaker_overrides);
          continue;
        }
        if (!section.second.IsMap()) {
          errors.push_back(fmt::format("{}: must be a mapping", section_name));
          continue;
        }
        read_keys(section.second, section_name);
      }
    } catch (const YAML::Exception& e) {
      errors.push_back(fmt::format("{}: {}", file.string(), e.what()));
    }
  }
  // A relative repository in the file is relative to the file; one from the environment, to the
  // working directory.
  if (!file.empty() && config.models.repository.is_relative()) {
    config.models.repository = std::filesystem::absolute(file).parent_path() / config.models.repository;
  }
  if (!file.empty()) {
    for (std::filesystem::path* path : {&config.server.tls.cert_file, &config.server.tls.key_file,
                                        &config.server.tls.client_ca_file}) {
      if (!path->empty() && path->is_relative()) *path = std::filesystem::absolute(file).parent_path() / *path;
    }
  }
  for (const auto& key : settable) {
    const std::string name = env_name(key.path);
    if (const char* value = std::getenv(name.c_str())) {
      if (std::string error = key.set(config, value); !error.empty()) {
        errors.push_back(fmt::format("{} (from {}): {}", key.path, name, error));
      }
    }
  }
  config.models.repository = std::filesystem::absolute(config.models.repository);
  check_tls(config.server.tls, errors);
  if (std::string& jwks = config.guards.auth.jwt.jwks_file; !jwks.empty() && !file.empty()) {
    jwks = (std::filesystem::absolute(file).parent_path() / jwks).string();
  }
  if (config.guards.auth.jwt.enabled && config.guards.auth.jwt.keys.empty() && config.guards.auth.jwt.jwks_file.empty()) {
    errors.push_back("guards.auth.jwt: enabled, but names no keys and no jwks_file");
  }
  if (!is_postgres_url(config.registry.location)) {
    std::filesystem::path location = config.registry.location;
    if (location.is_relative() && !file.empty()) location = std::filesystem::absolute(file).parent_path() / location;
    config.registry.location = std::filesystem::absolute(location).string();
  }
  const auto& environments = config.routing.environments;
  if (std::find(environments.begin(), environments.end(), config.routing.default_environment) == environments.end()) {
    errors.push_back(fmt::format("routing.default_environment: '{}' is not one of routing.environments", config.routing.default_environment));
  }
  const auto& limits = config.guards.rate_limit;
  if (limits.store == RateLimitSettings::Store::kRedis && config.redis.address.empty()) {
    errors.push_back("guards.rate_limit.store: redis needs redis.address");
  }
  if (config.guards.cache.store == CacheSettings::Store::kRedis && config.redis.address.empty()) {
    errors.push_back("guards.cache.store: redis needs redis.address");
  }
  if (config.guards.retry.backoff_max_ms < config.guards.retry.backoff_base_ms) {
    errors.push_back(fmt::format("guards.retry.backoff_max_ms: must be at least backoff_base_ms ({}), got {}",
                                 config.guards.retry.backoff_base_ms, config.guards.retry.backoff_max_ms));
  }
  if (const GradientSettings& g = config.guards.admission.gradient;
      g.min_limit > g.initial_limit || g.initial_limit > g.max_limit) {
    errors.push_back(fmt::format("guards.admission: needs min_limit <= initial_limit <= max_limit, got {}, {}, {}",
                                 g.min_limit, g.initial_limit, g.max_limit));
  }
  if (config.guards.admission.low_share > config.guards.admission.normal_share) {
    errors.push_back("guards.admission: low_share must not exceed normal_share (low requests shed first)");
  }
  if (Status s = check_one_cost_per_stage(limits.rules); !s.is_ok()) {
    errors.push_back("guards.rate_limit.rules: " + s.message());
  }
  for (size_t i = 0; i < config.api_keys.size(); ++i) {
    if (Status s = check_configured_api_key(config.api_keys[i]); !s.is_ok()) {
      errors.push_back(fmt::format("guards.auth.keys[{}]: {}", i, s.message()));
    }
  }
  // Each backend's breakers: guards.circuit_breaker, then its overrides, set through the same keys
  // so that they are checked the same way.
  for (RemoteBackendConfig& b : config.backends) b.circuit_breaker = config.guards.circuit_breaker;
  for (const auto& [index, overrides] : breaker_overrides) {
    Config scratch;
    scratch.guards.circuit_breaker = config.guards.circuit_breaker;
    for (const auto& entry : overrides) {
      const std::string key = entry.first.as<std::string>();
      const std::string where = fmt::format("backends[{}].circuit_breaker.{}", index, key);
      const Key* setter = key == "enabled" ? nullptr : find_key("guards.circuit_breaker." + key);
      if (!setter) {
        errors.push_back(where + ": unknown key (any key of guards.circuit_breaker but enabled)");
      } else if (!entry.second.IsScalar()) {
        errors.push_back(where + ": must be a single value");
      } else if (std::string error = setter->set(scratch, entry.second.as<std::string>()); !error.empty()) {
        errors.push_back(fmt::format("{}: {}", where, error));
      }
    }
    config.backends[index].circuit_breaker = scratch.guards.circuit_breaker;
  }
  std::vector<std::string> backend_names;
  for (const RemoteBackendConfig& b : config.backends) backend_names.push_back(b.name);
  for (size_t i = 0; i < config.deployments.size(); ++i) {
    DeploymentRecord& d = config.deployments[i];
    if (d.environment.empty()) d.environment = config.routing.default_environment;
    if (Status s = validate_deployment(d, environments, backend_names); !s.is_ok()) {
      errors.push_back(fmt::format("deployments[{}] ({}): {}", i, d.name, s.message()));
    }
  }
  return errors;
}

}  // namespace seraph
