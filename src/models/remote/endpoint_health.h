#pragma once
// Active health of one endpoint from its periodic checks. An endpoint starts unhealthy (no traffic
// before its first passed check); it turns unhealthy after `unhealthy_threshold` failed checks in a
// row and healthy again after `healthy_threshold` passed ones.
#include "models/remote/remote_config.h"

namespace seraph {

class EndpointHealth {
 public:
  explicit EndpointHealth(const RemoteBackendConfig::HealthCheck& config)
      : unhealthy_threshold_(config.unhealthy_threshold), healthy_threshold_(config.healthy_threshold) {}

  // Records one check; returns true when it changed the endpoint's health.
  bool record(bool passed) {
    if (passed) {
      failed_ = 0;
      if (healthy_ || ++passed_ < healthy_threshold_) return false;
      healthy_ = true;
      return true;
    }
    passed_ = 0;
    if (!healthy_ || ++failed_ < unhealthy_threshold_) return false;
    healthy_ = false;
    return true;
  }
  bool healthy() const { return healthy_; }

 private:
  int unhealthy_threshold_;
  int healthy_threshold_;
  bool healthy_ = false;
  int passed_ = 0;
  int failed_ = 0;
};

}  // namespace seraph
