#include "models/remote/outlier_detector.h"

#include <algorithm>

namespace seraph {

OutlierDetector::OutlierDetector(const RemoteBackendConfig::Outlier& config, size_t endpoints)
    : config_(config), state_(endpoints) {}

void OutlierDetector::refresh(EndpointState& s, TimePoint now) const {
  const auto base = std::chrono::milliseconds(config_.base_ejection_ms);
  if (s.out) {
    if (now < s.until) return;
    s.out = false;
    s.last_decay = s.until;
  }
  while (s.times_ejected > 0 && base.count() > 0 && now - s.last_decay >= base) {
    --s.times_ejected;
    s.last_decay += base;
  }
}

void OutlierDetector::record_success(size_t endpoint) { state_[endpoint].consecutive_failures = 0; }

bool OutlierDetector::record_failure(size_t endpoint, TimePoint now) {
  EndpointState& s = state_[endpoint];
  refresh(s, now);
  if (s.out || ++s.consecutive_failures < config_.consecutive_failures) return false;
  const size_t out = ejected_count(now);
  const size_t allowed = state_.size() * static_cast<size_t>(config_.max_ejection_percent) / 100;
  if (out > 0 && out >= allowed) return false;  // too many out already: keep it in, keep counting
  s.consecutive_failures = 0;
  ++s.times_ejected;
  const int64_t ms = std::min(config_.base_ejection_ms * s.times_ejected, config_.max_ejection_ms);
  s.out = true;
  s.until = now + std::chrono::milliseconds(ms);
  return true;
}

bool OutlierDetector::ejected(size_t endpoint, TimePoint now) {
  EndpointState& s = state_[endpoint];
  refresh(s, now);
  return s.out;
}

size_t OutlierDetector::ejected_count(TimePoint now) {
  size_t n = 0;
  for (size_t i = 0; i < state_.size(); ++i) n += ejected(i, now) ? 1 : 0;
  return n;
}

}  // namespace seraph
