#pragma once
// What the config says about guards: which are switched on (guards.<name>.enabled) and each
// guard's own section. Read by the config loader, handed to the chain's table.
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace seraph {

// Who may call one deployment (or model, by the name requests call it), beside the roles.
struct AllowList {
  std::vector<std::string> subjects;
  std::vector<std::string> tenants;
};

struct AuthSettings {
  std::vector<std::string> open_paths;  // paths anyone may call, beside the probes that always are
  std::map<std::string, AllowList, std::less<>> deployments;  // a name listed here admits only its callers
};

class ContentRules;

// guards.content.deployments: each deployment's content rules (guards/content_rules.h), compiled
// when the config is read so that a bad pattern is a config error.
struct ContentSettings {
  std::map<std::string, std::shared_ptr<const ContentRules>, std::less<>> deployments;
};

struct GuardSettings {
  std::map<std::string, bool, std::less<>> enabled;  // guards.<name>.enabled; absent: the row's default
  AuthSettings auth;
  ContentSettings content;
};

}  // namespace seraph
