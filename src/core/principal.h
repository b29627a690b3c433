#pragma once
// Who is calling, once the auth guard has looked: the subject, its tenant, its roles, the
// deployments it may call, and its API key's admission priority. Roles are a small fixed set that every layer shares (the route table
// says which role a route needs, the auth guard grants them, the admin API stores them on keys).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/priority.h"

namespace seraph {

enum class Role : uint8_t {
  kNone = 0,            // any authenticated caller (which routes are open to all is the auth guard's config)
  kReader = 1 << 0,     // metadata, the models list, metrics
  kPredictor = 1 << 1,  // inference and feedback
  kAdmin = 1 << 2,      // the admin API and the repository's load and unload; implies the others
};

using RoleSet = uint8_t;

std::optional<Role> parse_role(std::string_view name);  // "reader", "predictor", "admin"
std::string_view role_name(Role role);
// "reader,predictor": the roles in `roles`, in a fixed order.
std::string role_list(RoleSet roles);

// Admin implies every other role.
inline bool grants(RoleSet roles, Role needed) {
  return needed == Role::kNone || (roles & static_cast<RoleSet>(Role::kAdmin)) != 0 ||
         (roles & static_cast<RoleSet>(needed)) != 0;
}

struct Principal {
  enum class Method : uint8_t { kAnonymous, kApiKey, kJwt, kClientCertificate };
  Method method = Method::kAnonymous;
  std::string subject;                   // the key's name, the token's subject, the certificate's subject
  std::string tenant;                    // empty: none
  RoleSet roles = 0;
  std::vector<std::string> deployments;  // the names it may call; empty: any
  std::optional<Priority> priority;      // its API key's: the default and the ceiling of its requests'

  bool authenticated() const { return method != Method::kAnonymous; }
  // Whether `name` (a deployment or model the request calls) is within its allow list.
  bool may_call(std::string_view name) const;
};

std::string_view method_name(Principal::Method method);

}  // namespace seraph
