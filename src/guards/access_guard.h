#pragma once
// Which deployments a caller may call, in the inference stage (where the called name is known):
// an API key limited to some deployments calls only those, and a deployment with an allow list in
// the config admits only the subjects and tenants it names. A refusal is 403 naming the deployment.
// On with the auth guard, whose caller it checks.
#include "guards/guard.h"
#include "guards/guard_settings.h"

namespace seraph {

class AccessGuard final : public Guard {
 public:
  explicit AccessGuard(const AuthSettings& settings) : deployments_(settings.deployments) {}
  std::string_view name() const override { return "access"; }
  RequestVerdict on_request(Exchange& exchange) override;

 private:
  const std::map<std::string, AllowList, std::less<>> deployments_;
};

}  // namespace seraph
