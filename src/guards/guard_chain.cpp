#include "guards/guard_chain.h"

#include "guards/fault_injection_guard.h"
#include "guards/route_guard.h"

namespace seraph {

GuardChain GuardChain::build(ModelManager& models, const Deployments& deployments) {
  GuardChain chain;
  chain.add(std::make_unique<RouteGuard>(models, deployments));
  chain.add(std::make_unique<FaultInjectionGuard>());
  return chain;
}

size_t GuardChain::run_request(Exchange& exchange) const {
  size_t ran = 0;
  for (const auto& guard : guards_) {
    ++ran;
    exchange.status = guard->on_request(exchange);
    if (!exchange.status.is_ok()) break;
  }
  return ran;
}

void GuardChain::run_response(Exchange& exchange, size_t ran) const {
  for (size_t i = ran; i-- > 0;) guards_[i]->on_response(exchange);
}

}  // namespace seraph
