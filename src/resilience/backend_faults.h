#pragma once
// The faults injected into remote backends (config `backends[].fault`, admin
// /admin/v1/backends/{name}/fault), kept in memory by each process: a restart goes back to the
// config's. The set of backends is fixed when the process starts, so finding one takes no lock;
// a fault is four relaxed atomics, and a request that races a change may see part of each.
#include <atomic>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "control/registry.h"
#include "core/status.h"

namespace seraph {

class BackendFaults {
 public:
  // One slot for each of `backends`, holding its fault from `configured` (none when absent).
  BackendFaults(const std::vector<std::string>& backends,
                const std::map<std::string, FaultSpec, std::less<>>& configured);
  BackendFaults(const BackendFaults&) = delete;
  BackendFaults& operator=(const BackendFaults&) = delete;

  // The backend's fault; false when there is no such backend.
  bool get(std::string_view backend, FaultSpec& out) const;
  // not_found when there is no such backend; the fault must be valid (validate_fault).
  Status set(std::string_view backend, const FaultSpec& fault);

 private:
  struct Slot {
    std::atomic<double> delay_ms{0};
    std::atomic<double> delay_percent{0};
    std::atomic<double> abort_percent{0};
    std::atomic<int> abort_status{503};
  };
  static void store(Slot& slot, const FaultSpec& fault);

  std::map<std::string, Slot, std::less<>> slots_;
};

}  // namespace seraph
