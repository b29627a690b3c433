#include "resilience/backend_faults.h"

#include <fmt/format.h>

namespace seraph {

BackendFaults::BackendFaults(const std::vector<std::string>& backends,
                             const std::map<std::string, FaultSpec, std::less<>>& configured) {
  for (const std::string& name : backends) {
    Slot& slot = slots_.try_emplace(name).first->second;
    if (auto it = configured.find(name); it != configured.end()) store(slot, it->second);
  }
}

bool BackendFaults::get(std::string_view backend, FaultSpec& out) const {
  auto it = slots_.find(backend);
  if (it == slots_.end()) return false;
  const Slot& slot = it->second;
  out.delay_ms = slot.delay_ms.load(std::memory_order_relaxed);
  out.delay_percent = slot.delay_percent.load(std::memory_order_relaxed);
  out.abort_percent = slot.abort_percent.load(std::memory_order_relaxed);
  out.abort_status = slot.abort_status.load(std::memory_order_relaxed);
  return true;
}

Status BackendFaults::set(std::string_view backend, const FaultSpec& fault) {
  auto it = slots_.find(backend);
  if (it == slots_.end()) return not_found(fmt::format("no backend '{}' is configured", backend));
  store(it->second, fault);
  return {};
}

void BackendFaults::store(Slot& slot, const FaultSpec& fault) {
  slot.delay_ms.store(fault.delay_ms, std::memory_order_relaxed);
  slot.delay_percent.store(fault.delay_percent, std::memory_order_relaxed);
  slot.abort_percent.store(fault.abort_percent, std::memory_order_relaxed);
  slot.abort_status.store(fault.abort_status, std::memory_order_relaxed);
}

}  // namespace seraph
