#pragma once
// Passive health: an endpoint that fails `consecutive_failures` calls in a row (5xx answers or
// connect failures; 4xx answers are the client's doing) is ejected, Envoy's way:
//  - for base_ejection_ms x the number of times it has been ejected (capped at max_ejection_ms),
//    so an endpoint that keeps failing stays out longer each time;
//  - at most max_ejection_percent of the endpoints are out at once, except that the first one is
//    always ejected (with one or two endpoints a percentage would otherwise never allow any);
//  - once its time is up it takes traffic again; each base_ejection_ms it then spends without being
//    ejected takes one off its ejection count.
// Pure bookkeeping over the clock it is given; the backend calls it from its own thread.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/clock.h"
#include "models/remote/remote_config.h"

namespace seraph {

class OutlierDetector {
 public:
  OutlierDetector(const RemoteBackendConfig::Outlier& config, size_t endpoints);

  // Records a call's outcome; returns true when this failure ejected the endpoint.
  void record_success(size_t endpoint);
  bool record_failure(size_t endpoint, TimePoint now);

  // Whether the endpoint is out at `now`; returns ejected endpoints whose time is up to traffic.
  bool ejected(size_t endpoint, TimePoint now);
  int times_ejected(size_t endpoint) const { return state_[endpoint].times_ejected; }
  TimePoint ejected_until(size_t endpoint) const { return state_[endpoint].until; }
  size_t ejected_count(TimePoint now);

 private:
  struct EndpointState {
    int consecutive_failures = 0;
    int times_ejected = 0;
    bool out = false;
    TimePoint until{};
    TimePoint last_decay{};  // when the ejection count last shrank (or the endpoint returned)
  };
  void refresh(EndpointState& s, TimePoint now) const;

  RemoteBackendConfig::Outlier config_;
  std::vector<EndpointState> state_;
};

}  // namespace seraph
