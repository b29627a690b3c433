// The seraph command line: serve, check-config, api-key, version.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "api/router.h"
#include "auth/jwt_key_store.h"
#include "guards/guard_table.h"
#include "guards/rate_limit_rules.h"
#include "store/redis_client.h"
#include "control/control_plane.h"
#include "control/deployments.h"
#include "control/records_json.h"
#include "control/registry.h"
#include "control/variant_stats.h"
#include "models/model_manager.h"
#include "models/remote/remote_backend.h"
#include "observe/access_log.h"
#include "observe/http_metrics.h"
#include "observe/metrics.h"
#include "observe/process_metrics.h"
#include "resilience/circuit_breakers.h"
#include "resilience/backend_faults.h"
#include "config/config.h"
#include "server/http_server.h"
#include "server/tls_context.h"

namespace {

bool load_or_report(const std::string& file, seraph::Config& config) {
  auto errors = seraph::load_config(file, config);
  for (const auto& e : errors) std::cerr << "config error: " << e << "\n";
  return errors.empty();
}

int serve(const std::string& config_file) {
  seraph::Config config;
  if (!load_or_report(config_file, config)) return 2;
  seraph::configure_logging(config.log.level);

  if (!std::filesystem::is_directory(config.models.repository)) {
    spdlog::critical(R"({{"msg":"models.repository is not a directory","path":"{}"}})", config.models.repository.string());
    return 2;
  }

  seraph::MetricsRegistry metrics;
  seraph::register_process_metrics(metrics);
  seraph::AccessLog access_log(config.log.access_log);
  seraph::HttpMetrics http_metrics(metrics);
  seraph::Gauge& dropped_lines =
      metrics.sampled_counter("seraph_access_log_dropped_lines_total", "Access-log lines dropped because the output could not keep up.").get({});
  metrics.on_collect([&] { dropped_lines.set(static_cast<double>(access_log.dropped())); });
  seraph::LifecycleOptions lifecycle;
  lifecycle.limits.max_queue = static_cast<size_t>(config.models.max_queue);
  lifecycle.limits.lazy_by_default = config.models.load_policy == "lazy";
  lifecycle.memory_budget_bytes = config.models.memory_budget_bytes;
  lifecycle.poll_interval = std::chrono::milliseconds(config.models.poll_interval_ms);
  lifecycle.unload_timeout = std::chrono::milliseconds(config.models.unload_timeout_ms);
  seraph::parse_version_policy(config.models.version_policy, lifecycle.version_policy);  // validated with the config
  seraph::ModelManager models(config.models.repository, lifecycle, metrics);

  std::string registry_error;
  auto registry = seraph::Registry::open(config.registry.location, registry_error);
  if (!registry) {
    spdlog::critical(R"({{"msg":"cannot open the registry","location":"{}","error":"{}"}})", config.registry.location, registry_error);
    return 2;
  }
  // Circuit breakers of local versions (a guard) and of remote endpoints (inside their backends).
  std::unique_ptr<seraph::CircuitBreakers> breakers;
  if (seraph::is_enabled(*seraph::find_guard_row("circuit_breaker"), config.guards)) {
    breakers = std::make_unique<seraph::CircuitBreakers>(config.guards.circuit_breaker, metrics);
  }
  seraph::BackendMetricFamilies backend_metrics(metrics);
  seraph::BackendDirectory backends;
  for (const auto& b : config.backends) {
    backends.add(std::make_shared<seraph::RemoteBackend>(b, backend_metrics, breakers.get()));
  }
  backends.start();
  // Faults injected into remote backends: the config's, changed through the admin API, in memory.
  seraph::BackendFaults backend_faults(backends.names(), config.guards.fault_injection.backends);
  seraph::Deployments deployments(metrics, config.routing.default_environment, config.routing.environments,
                                  backends.names());
  seraph::ControlPlane control(*registry, deployments, models, metrics,
                               std::chrono::milliseconds(config.control.tick_interval_ms));
  if (seraph::Status s = control.api_keys().set_configured(config.api_keys); !s.is_ok()) {
    spdlog::critical(seraph::json_object({{"msg", "bad API key in the config"}, {"error", s.message()}}));
    return 2;
  }
  if (seraph::Status s = control.start(config.deployments); !s.is_ok()) {
    spdlog::critical(seraph::json_object({{"msg", "cannot start the control plane"}, {"error", s.message()}}));
    return 2;
  }
  if (breakers) {
    // Every change of state to the server log and, through the control plane's queue (the caller
    // may be an I/O thread), to the registry's event log. Set before any traffic.
    breakers->set_listener([&control](const seraph::CircuitBreakers::Change& change) {
      const std::string details = seraph::change_json(change);
      spdlog::warn(R"({{"msg":"circuit breaker changed state","change":{}}})", details);
      control.append_event({0, seraph::unix_ms(), "circuit-breaker",
                            fmt::format("circuit_breaker.{}", seraph::breaker_state_name(change.to)),
                            "circuit_breaker/" + change.breaker, details});
    });
  }
  // JWT keys: loaded now (a bad key is a config error), re-read when their files change or on SIGHUP.
  std::unique_ptr<seraph::JwtKeyStore> jwt_keys;
  if (config.guards.auth.jwt.enabled) {
    jwt_keys = std::make_unique<seraph::JwtKeyStore>(config.guards.auth.jwt.keys, config.guards.auth.jwt.jwks_file);
    if (seraph::Status s = jwt_keys->load(); !s.is_ok()) {
      spdlog::critical(seraph::json_object({{"msg", "cannot load the JWT keys"}, {"error", s.message()}}));
      return 2;
    }
  }
  // Redis, when configured: connects in the background and reconnects by itself; guards that use it
  // decide what to do while it is away.
  std::unique_ptr<seraph::RedisClient> redis;
  if (!config.redis.address.empty()) {
    seraph::RedisOptions options;
    std::string port;
    seraph::split_host_port(config.redis.address, options.host, port);
    options.port = std::stoi(port);
    options.password = config.redis.password;
    options.database = config.redis.database;
    options.connect_timeout = std::chrono::milliseconds(config.redis.connect_timeout_ms);
    options.command_timeout = std::chrono::milliseconds(config.redis.command_timeout_ms);
    redis = std::make_unique<seraph::RedisClient>(options);
  }
  // Rate-limit rules: the config's and the admin API's (from the registry, read again every second).
  std::unique_ptr<seraph::RateLimitRules> rate_limits;
  if (seraph::is_enabled(*seraph::find_guard_row("rate_limit"), config.guards)) {
    rate_limits = std::make_unique<seraph::RateLimitRules>(*registry, config.guards.rate_limit.rules);
    if (seraph::Status s = rate_limits->refresh(); !s.is_ok()) {
      spdlog::critical(seraph::json_object({{"msg", "cannot read the rate-limit rules"}, {"error", s.message()}}));
      return 2;
    }
  }
  seraph::VariantRecorder variant_recorder;
  seraph::ApiRouter router(models, control, metrics, {&http_metrics, &variant_recorder, &access_log},
                           {config.models.default_model, std::chrono::milliseconds(config.server.request_timeout_ms),
                            config.guards, static_cast<size_t>(config.server.max_body_bytes), &backends,
                            jwt_keys.get(), redis.get(), rate_limits.get(), breakers.get(), &backend_faults});
  std::unique_ptr<seraph::TlsContextSource> tls;
  if (config.server.tls.enabled()) {
    if (seraph::Status s = seraph::TlsContextSource::create(config.server.tls, metrics, tls); !s.is_ok()) {
      spdlog::critical(seraph::json_object({{"msg", "cannot set up TLS"}, {"error", s.message()}}));
      return 2;
    }
  }
  seraph::HttpServer server(config.server, router, tls.get());
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::critical(R"({{"msg":"cannot listen","host":"{}","port":{},"error":"{}"}})", config.server.host,
                     config.server.port, e.what());
    return 1;
  }
  spdlog::info(R"({{"msg":"listening","host":"{}","port":{},"tls":{},"repository":"{}"}})", config.server.host,
               server.port(), config.server.tls.enabled(), config.models.repository.string());

  // Live at once; ready once the models have loaded in the background.
  std::thread loader([&models] {
    models.load_all();
    spdlog::info(R"({{"msg":"models loaded","all_ready":{}}})", models.all_ready());
  });

  // SIGTERM or SIGINT: readiness turns false at once, the listener stops accepting, requests in
  // progress finish (up to the drain timeout), then the models unload.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  // Every second: key files checked for changes (read again at once on SIGHUP; a broken file keeps
  // the keys in use and is logged), and the admin's rate-limit rules read from the registry.
  boost::asio::signal_set reload_signal(signals_io, SIGHUP);
  boost::asio::steady_timer reload_timer(signals_io);
  auto report_reload = [](const seraph::Status& s) {
    if (!s.is_ok()) spdlog::error(seraph::json_object({{"msg", "cannot reload the JWT keys"}, {"error", s.message()}}));
  };
  std::function<void()> watch_keys = [&] {
    if (!jwt_keys && !rate_limits) return;
    reload_timer.expires_after(std::chrono::seconds(1));
    reload_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      if (jwt_keys) report_reload(jwt_keys->reload_if_changed());
      if (rate_limits) {
        if (seraph::Status s = rate_limits->refresh(); !s.is_ok()) {
          spdlog::error(seraph::json_object({{"msg", "cannot read the rate-limit rules"}, {"error", s.message()}}));
        }
      }
      watch_keys();
    });
  };
  std::function<void()> on_hangup = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info(R"({"msg":"SIGHUP: reloading key files"})");
      if (jwt_keys) report_reload(jwt_keys->reload());
      on_hangup();
    });
  };
  watch_keys();
  on_hangup();
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    spdlog::info(R"({{"msg":"draining","signal":{},"drain_timeout_ms":{}}})", signal, config.server.drain_timeout_ms);
    router.set_draining();
    reload_timer.cancel();
    reload_signal.cancel();
  });
  signals_io.run();

  const int64_t abandoned = server.stop(std::chrono::milliseconds(config.server.drain_timeout_ms));
  redis.reset();  // its last commands complete now, while the guards waiting on them still exist
  loader.join();
  control.stop();
  backends.stop();
  models.shutdown();
  access_log.flush();
  spdlog::info(R"({{"msg":"stopped","connections_abandoned":{}}})", abandoned);
  spdlog::shutdown();
  return 0;
}

// `seraph api-key create|list|revoke`: manages the registry's keys directly, for the first admin key
// (with auth on, the admin API needs one) and for scripts. A running server sees the change on its
// next tick.
struct ApiKeyCommand {
  std::string config_file;
  std::string id;
  seraph::ApiKeyRequest request;
  int64_t expires_in_days = 0;
};

int api_key(const std::string& action, const ApiKeyCommand& command) {
  seraph::Config config;
  if (!load_or_report(command.config_file, config)) return 2;
  spdlog::set_level(spdlog::level::warn);
  std::string error;
  auto registry = seraph::Registry::open(config.registry.location, error);
  if (!registry) {
    std::cerr << "cannot open the registry " << config.registry.location << ": " << error << "\n";
    return 2;
  }
  seraph::ApiKeys keys(*registry);
  if (action == "list") {
    std::vector<seraph::ApiKeyRecord> records;
    if (seraph::Status s = registry->list_api_keys(records); !s.is_ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    for (const auto& r : records) {
      rapidjson::StringBuffer buffer;
      seraph::RecordWriter w(buffer);
      seraph::write_api_key(w, r);
      std::cout << buffer.GetString() << "\n";
    }
    return 0;
  }
  if (action == "revoke") {
    if (seraph::Status s = keys.revoke(command.id, "cli"); !s.is_ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    std::cout << "revoked " << command.id << "\n";
    return 0;
  }
  seraph::ApiKeyRequest request = command.request;
  if (command.expires_in_days > 0) request.expires_ms = seraph::unix_ms() + command.expires_in_days * 86'400'000;
  std::string key;
  seraph::ApiKeyRecord record;
  if (seraph::Status s = keys.create(request, "cli", key, record); !s.is_ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  std::cout << key << "\n";  // shown this once
  std::cerr << "created API key " << record.id << " (" << record.name << "); the registry keeps only its hash\n";
  return 0;
}

int check_config(const std::string& file) {
  seraph::Config config;
  if (!load_or_report(file, config)) return 2;
  std::cout << file << ": OK (models from " << config.models.repository.string() << ", listening on "
            << config.server.host << ":" << config.server.port << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Seraph: a model-serving gateway with production guardrails"};
  app.require_subcommand(1);

  std::string serve_config;
  auto* serve_cmd = app.add_subcommand("serve", "Serve the models of a repository over HTTP");
  serve_cmd->add_option("-c,--config", serve_config, "YAML config file (defaults and SERAPH_* variables otherwise)");

  std::string check_file;
  auto* check_cmd = app.add_subcommand("check-config", "Validate a config file and exit (status 2 on errors)");
  check_cmd->add_option("file", check_file, "YAML config file")->required();

  auto* version_cmd = app.add_subcommand("version", "Print the version");

  ApiKeyCommand key_command;
  auto* key_cmd = app.add_subcommand("api-key", "Create, list or revoke API keys in the configured registry");
  key_cmd->require_subcommand(1);
  key_cmd->fallthrough();  // -c may come after the action too
  key_cmd->add_option("-c,--config", key_command.config_file, "YAML config file naming the registry")->required();
  auto* key_create = key_cmd->add_subcommand("create", "Create a key and print it (shown once)");
  key_create->add_option("--name", key_command.request.name, "Who the key is for")->required();
  key_create->add_option("--role", key_command.request.roles, "reader, predictor or admin (repeatable)")->required();
  key_create->add_option("--deployment", key_command.request.deployments, "A deployment it may call (repeatable; none: any)");
  key_create->add_option("--tenant", key_command.request.tenant, "Its tenant");
  key_create->add_option("--priority", key_command.request.priority,
                         "critical, normal or low: the default and the ceiling of its requests' X-Priority");
  key_create->add_option("--expires-in-days", key_command.expires_in_days, "Days until it expires (none: never)");
  auto* key_list = key_cmd->add_subcommand("list", "List the keys (never the keys themselves)");
  auto* key_revoke = key_cmd->add_subcommand("revoke", "Revoke a key by id");
  key_revoke->add_option("id", key_command.id, "The key's id")->required();

  CLI11_PARSE(app, argc, argv);
  if (*serve_cmd) return serve(serve_config);
  if (*check_cmd) return check_config(check_file);
  if (*key_cmd) return api_key(*key_create ? "create" : *key_list ? "list" : "revoke", key_command);
  if (*version_cmd) {
    std::cout << "seraph " << SERAPH_VERSION << "\n";
    return 0;
  }
  return 0;
}
