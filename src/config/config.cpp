#include "config/config.h"

#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "control/api_keys.h"
#include "control/deployments.h"
#include "guards/guard_table.h"
#include "models/model_manager.h"
#include "models/remote/remote_config.h"
#include "models/version_policy.h"

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

// The `backends:` list: each a name, endpoints ["host:port", ...], timeouts, bounds, health_check
// and outlier settings (models/remote/remote_config.h), checked here so that errors name the key.
void read_backends(const YAML::Node& list, Config& config, std::vector<std::string>& errors) {
  for_each_mapping(list, "backends", errors, [&](const YAML::Node& node, const std::string& where) {
    RemoteBackendConfig b;
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
      scalar(h["interval_ms"], "health_check.interval_ms", b.health_check.interval_ms);
      scalar(h["timeout_ms"], "health_check.timeout_ms", b.health_check.timeout_ms);
      scalar(h["path"], "health_check.path", b.health_check.path);
      scalar(h["unhealthy_threshold"], "health_check.unhealthy_threshold", b.health_check.unhealthy_threshold);
      scalar(h["healthy_threshold"], "health_check.healthy_threshold", b.health_check.healthy_threshold);
    }
    if (const YAML::Node& o = node["outlier"]) {
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
    config.backends.push_back(std::move(b));
  });
}

// The `deployments:` list: each a name, an environment (default: routing.default_environment), an
// optional sticky header, and variants {name, model, version, weight, role, fault}.
void read_deployments(const YAML::Node& list, Config& config, std::vector<std::string>& errors) {
  auto scalar = [&](const YAML::Node& node, const std::string& path, auto& out) {
    read_scalar(node, path, out, errors);
  };
  for_each_mapping(list, "deployments", errors, [&](const YAML::Node& node, const std::string& where) {
    DeploymentRecord d;
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
      VariantRecord variant;
      variant.role = j == 0 ? "baseline" : "candidate";
      scalar(v["model"], at + ".model", variant.model);
      scalar(v["version"], at + ".version", variant.version);
      scalar(v["weight"], at + ".weight", variant.weight);
      scalar(v["role"], at + ".role", variant.role);
      scalar(v["backend"], at + ".backend", variant.backend);
      variant.name = variant.role;
      scalar(v["name"], at + ".name", variant.name);
      if (const YAML::Node& f = v["fault"]) {
        scalar(f["delay_ms"], at + ".fault.delay_ms", variant.fault.delay_ms);
        scalar(f["delay_percent"], at + ".fault.delay_percent", variant.fault.delay_percent);
        scalar(f["abort_percent"], at + ".fault.abort_percent", variant.fault.abort_percent);
        scalar(f["abort_status"], at + ".fault.abort_status", variant.fault.abort_status);
      }
      d.variants.push_back(std::move(variant));
    }
    config.deployments.push_back(std::move(d));
  });
}

// guards.auth.deployments: {<name>: {subjects: [...], tenants: [...]}}.
void read_allow_lists(const YAML::Node& map, const std::string& where, Config& config, std::vector<std::string>& errors) {
  if (!map.IsMap()) {
    errors.push_back(where + ": must be a mapping of deployment names to {subjects, tenants}");
    return;
  }
  for (const auto& entry : map) {
    const std::string name = entry.first.as<std::string>();
    const std::string at = where + "." + name;
    if (!is_valid_model_name(name)) errors.push_back(fmt::format("{}: '{}' is not a valid deployment name", at, name));
    if (!entry.second.IsMap()) {
      errors.push_back(at + ": must be a mapping with subjects and/or tenants");
      continue;
    }
    AllowList allowed;
    for (const auto& field : entry.second) {
      const std::string key = field.first.as<std::string>();
      if (key == "subjects") read_scalar(field.second, at + ".subjects", allowed.subjects, errors);
      else if (key == "tenants") read_scalar(field.second, at + ".tenants", allowed.tenants, errors);
      else errors.push_back(fmt::format("{}.{}: unknown key (use subjects or tenants)", at, key));
    }
    if (allowed.subjects.empty() && allowed.tenants.empty()) errors.push_back(at + ": lists no subjects and no tenants");
    config.guards.auth.deployments[name] = std::move(allowed);
  }
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

// guards.auth.keys: [{id, name, sha256, roles, deployments, tenant}]; ApiKeys checks each record.
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
      else errors.push_back(fmt::format("{}: unknown key (use id, name, sha256, roles, deployments, tenant)", path));
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
    for (const auto& section : root) {
      const std::string section_name = section.first.as<std::string>();
      if (section.second.IsNull()) continue;  // a section whose keys are all commented out
      if (section_name == "deployments") {
        read_deployments(section.second, config, errors);
        continue;
      }
      if (section_name == "backends") {
        read_backends(section.second, config, errors);
        continue;
      }
      if (!section.second.IsMap()) {
        errors.push_back(fmt::format("{}: must be a mapping", section_name));
        continue;
      }
      read_keys(section.second, section_name);
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
  if (!is_postgres_url(config.registry.location)) {
    std::filesystem::path location = config.registry.location;
    if (location.is_relative() && !file.empty()) location = std::filesystem::absolute(file).parent_path() / location;
    config.registry.location = std::filesystem::absolute(location).string();
  }
  const auto& environments = config.routing.environments;
  if (std::find(environments.begin(), environments.end(), config.routing.default_environment) == environments.end()) {
    errors.push_back(fmt::format("routing.default_environment: '{}' is not one of routing.environments", config.routing.default_environment));
  }
  for (size_t i = 0; i < config.api_keys.size(); ++i) {
    if (Status s = check_configured_api_key(config.api_keys[i]); !s.is_ok()) {
      errors.push_back(fmt::format("guards.auth.keys[{}]: {}", i, s.message()));
    }
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
