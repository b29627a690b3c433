#include "core/principal.h"

#include <algorithm>
#include <array>

namespace seraph {
namespace {

struct NamedRole {
  Role role;
  std::string_view name;
};
constexpr std::array<NamedRole, 3> kRoles{{{Role::kReader, "reader"}, {Role::kPredictor, "predictor"}, {Role::kAdmin, "admin"}}};

}  // namespace

std::optional<Role> parse_role(std::string_view name) {
  for (const NamedRole& r : kRoles) {
    if (r.name == name) return r.role;
  }
  return std::nullopt;
}

std::string_view role_name(Role role) {
  for (const NamedRole& r : kRoles) {
    if (r.role == role) return r.name;
  }
  return "none";
}

std::string role_list(RoleSet roles) {
  std::string out;
  for (const NamedRole& r : kRoles) {
    if ((roles & static_cast<RoleSet>(r.role)) == 0) continue;
    if (!out.empty()) out += ',';
    out += r.name;
  }
  return out;
}

bool Principal::may_call(std::string_view name) const {
  return deployments.empty() || std::find(deployments.begin(), deployments.end(), name) != deployments.end();
}

std::string_view method_name(Principal::Method method) {
  switch (method) {
    case Principal::Method::kAnonymous: return "anonymous";
    case Principal::Method::kApiKey: return "api_key";
    case Principal::Method::kJwt: return "jwt";
    case Principal::Method::kClientCertificate: return "client_certificate";
  }
  return "anonymous";
}

}  // namespace seraph
