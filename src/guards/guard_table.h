#pragma once
// The one table every guard is listed in: its name, its stage, the config section that switches it
// (guards.<section>.enabled; guards that work as one share a section), whether it is on when the
// config says nothing, and its factory. Chains are built from it in table order; a guard switched
// off is not in the chain and costs nothing. A new guard is one file in guards/ and one row here.
#include <chrono>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guards/guard_chain.h"
#include "guards/guard_settings.h"

namespace seraph {

class ApiKeys;
class BackendFaults;
class BackendDirectory;
class CircuitBreakers;
class JwtKeyStore;
class RateLimitRules;
class RedisClient;
class Deployments;
class MetricsRegistry;
class ModelManager;

// What guards may be built with.
struct GuardContext {
  ModelManager& models;
  const Deployments& deployments;
  MetricsRegistry& metrics;
  const GuardSettings& settings;
  const ApiKeys& api_keys;
  std::chrono::milliseconds request_timeout{30000};
  const BackendDirectory* backends = nullptr;  // remote backends variants may name; null: none
  const JwtKeyStore* jwt_keys = nullptr;       // when JWTs are accepted
  RedisClient* redis = nullptr;                // shared state between replicas, when configured
  const RateLimitRules* rate_limits = nullptr;  // the rate-limit rules in force; required with rate_limit on
  CircuitBreakers* breakers = nullptr;          // required with circuit_breaker on
  const BackendFaults* backend_faults = nullptr;  // the remote backends' injected faults; null: none
};

enum class Switch : uint8_t { kAlways, kOnByDefault, kOffByDefault };

struct GuardRow {
  std::string_view name;
  Stage stage;
  std::string_view section;  // guards.<section>.enabled switches it
  Switch on;
  std::unique_ptr<Guard> (*make)(const GuardContext& context);
};

std::span<const GuardRow> guard_table();

// The guards of `stage`, in table order, leaving out those switched off.
std::vector<std::unique_ptr<Guard>> build_guards(Stage stage, const GuardContext& context);

// The row named `name`; null when there is none.
const GuardRow* find_guard_row(std::string_view name);

// Whether the row's guard is in the chain under `settings`.
bool is_enabled(const GuardRow& row, const GuardSettings& settings);

}  // namespace seraph
