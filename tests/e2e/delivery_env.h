#pragma once
// What the safe-delivery tests share: a repository with sentiment versions 1 and 2 and version 3,
// an exact copy of version 1 (an identical candidate); admin API calls; background traffic; and
// waiting for a rollout to end.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_client.h"

namespace seraph::test {

const std::filesystem::path& delivery_repository();

// Deployment `sentiment` in production: version 1 alone.
inline const std::string kSentimentV1 = R"(deployments:
  - name: sentiment
    variants:
      - {name: baseline, model: sentiment, version: 1, weight: 100}
)";

// A config for delivery_repository() with a fast control-plane tick and `extra_yaml` (deployments).
std::filesystem::path delivery_config(const std::string& extra_yaml, int tick_interval_ms = 100);

// An admin call whose answer must have `expected_status`; returns the parsed body.
rapidjson::Document admin(uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                          unsigned expected_status);

// /predict requests to a deployment from several threads until stopped (or `max_requests`).
class Traffic {
 public:
  Traffic(uint16_t port, std::string target, int threads, int64_t max_requests = 1'000'000,
          std::vector<std::pair<std::string, std::string>> headers = {});
  ~Traffic();  // stops
  void stop();
  void wait();  // until max_requests are answered
  int64_t sent() const { return sent_.load(); }
  // Answers by status code, and which variant (X-Variant) served the 200s.
  std::map<unsigned, int64_t> statuses();
  std::map<std::string, int64_t> variants();

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> sent_{0};
  std::mutex mutex_;
  std::map<unsigned, int64_t> statuses_;
  std::map<std::string, int64_t> variants_;
  std::vector<std::thread> threads_;
};

// Polls the rollout until it is no longer running (or `seconds` pass); returns its final record.
rapidjson::Document wait_for_rollout_end(uint16_t port, int64_t id, int seconds = 90);

// Requests the variant served, summed over outcomes, from /metrics.
int64_t variant_requests(uint16_t port, const std::string& variant, const std::string& environment = "production");

}  // namespace seraph::test
