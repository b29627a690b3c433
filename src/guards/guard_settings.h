#pragma once
// What the config says about guards: which are switched on (guards.<name>.enabled) and each
// guard's own section. Read by the config loader, handed to the chain's table.
#include <map>
#include <string>
#include <vector>

#include "core/principal.h"

namespace seraph {

// Who may call one deployment (or model, by the name requests call it), beside the roles.
struct AllowList {
  std::vector<std::string> subjects;
  std::vector<std::string> tenants;
};

// A client certificate subject (its CN, or its RFC 2253 subject when it has no CN) and what the
// verified certificate grants, as an API key would.
struct ClientCertificateGrant {
  std::string subject;
  RoleSet roles = 0;
  std::vector<std::string> deployments;  // empty: any
  std::string tenant;
};

struct AuthSettings {
  std::vector<std::string> open_paths;  // paths anyone may call, beside the probes that always are
  std::map<std::string, AllowList, std::less<>> deployments;  // a name listed here admits only its callers
  std::vector<ClientCertificateGrant> client_certificates;    // for mutual TLS (server.tls.client_ca_file)
};

struct GuardSettings {
  std::map<std::string, bool, std::less<>> enabled;  // guards.<name>.enabled; absent: the row's default
  AuthSettings auth;
};

}  // namespace seraph
