#pragma once
// The one configuration file (YAML), with SERAPH_<SECTION>_<KEY> environment overrides, validated
// at start with messages that name the key path and what is wrong. It belongs to main: it names
// every layer's settings, so only the command line includes it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "control/registry.h"
#include "guards/guard_settings.h"
#include "server/server_settings.h"
#include "models/remote/remote_config.h"

namespace seraph {

struct Config {
  ServerSettings server;
  struct Models {
    std::filesystem::path repository = "models";  // relative paths are taken from the config file
    std::string default_model;               // /predict without ?model=
    int max_queue = 1024;                    // per model version
    std::string load_policy = "eager";       // eager: load at start; lazy: on the first request
    int64_t memory_budget_bytes = 0;         // loaded versions beyond it unload, least recently used first
    int poll_interval_ms = 0;                // watch the repository for new versions; 0: off
    int unload_timeout_ms = 30000;           // repository API unload: how long requests in progress may take
    std::string version_policy = "all";      // "all" or "latest N"; a model's policy.yaml overrides it
  } models;
  struct RegistrySettings {
    // An SQLite file (relative paths are taken from the config file) or a postgres:// URL.
    std::string location = "seraph-registry.db";
  } registry;
  struct Routing {
    std::vector<std::string> environments{"staging", "production"};
    std::string default_environment = "production";  // for requests without X-Environment
  } routing;
  struct Control {
    int tick_interval_ms = 1000;             // how often rollouts and experiments are judged
  } control;
  // Remote model servers (KServe V2 over HTTP) that deployment variants may name.
  std::vector<RemoteBackendConfig> backends;
  // Written to the registry at the first start; the registry (and the admin API) rules after that.
  std::vector<DeploymentRecord> deployments;
  // guards.<section>.enabled for the guards that may be switched off (guards/guard_table.h), and
  // the guards' own sections.
  GuardSettings guards;
  // guards.auth.keys: API keys accepted beside the registry's, each by id and SHA-256.
  std::vector<ApiKeyRecord> api_keys;
  // Redis, for state replicas share (rate limits); an empty address: none.
  struct Redis {
    std::string address;  // host:port
    std::string password;
    int database = 0;
    int connect_timeout_ms = 200;
    int command_timeout_ms = 50;
  } redis;
  struct Log {
    std::string level = "info";              // trace, debug, info, warn, error, off
    bool access_log = true;
  } log;
};

// Loads `file` (or only defaults and environment when `file` is empty). Returns every problem found;
// an empty list means the config is valid.
std::vector<std::string> load_config(const std::filesystem::path& file, Config& config);

}  // namespace seraph
