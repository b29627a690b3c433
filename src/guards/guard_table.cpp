#include "guards/guard_table.h"

#include "guards/deadline_guard.h"
#include "guards/fault_injection_guard.h"
#include "guards/request_id_guard.h"
#include "guards/route_guard.h"
#include "guards/validation_guard.h"

namespace seraph {
namespace {

template <class G>
std::unique_ptr<Guard> make_plain(const GuardContext&) {
  return std::make_unique<G>();
}

constexpr GuardRow kGuards[] = {
    // Endpoint stage: every HTTP request.
    {"request_id", Stage::kEndpoint, false, make_plain<RequestIdGuard>},
    // Inference stage, in DESIGN.md's order.
    {"deadline", Stage::kInference, false,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<DeadlineGuard>(c.request_timeout);
     }},
    {"route", Stage::kInference, false,
     [](const GuardContext& c) -> std::unique_ptr<Guard> {
       return std::make_unique<RouteGuard>(c.models, c.deployments, c.backends);
     }},
    {"validation", Stage::kInference, false, make_plain<ValidationGuard>},
    {"fault_injection", Stage::kInference, true, make_plain<FaultInjectionGuard>},
};

}  // namespace

std::span<const GuardRow> guard_table() { return kGuards; }

std::vector<std::unique_ptr<Guard>> build_guards(Stage stage, const GuardContext& context,
                                                 const std::map<std::string, bool, std::less<>>& enabled) {
  std::vector<std::unique_ptr<Guard>> guards;
  for (const GuardRow& row : kGuards) {
    if (row.stage != stage) continue;
    if (auto it = enabled.find(row.name); row.optional && it != enabled.end() && !it->second) continue;
    guards.push_back(row.make(context));
  }
  return guards;
}

}  // namespace seraph
