#pragma once
// Steady load for the chaos experiments: a fixed number of keep-alive HTTP clients on one I/O
// thread, each request with a deadline (X-Request-Timeout-Ms), sent at a target rate over all
// clients or closed loop. A client gives up on an answer at its deadline plus a grace: that
// request was never answered.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace seraph::chaos {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// One request as its client saw it.
struct RequestRecord {
  Clock::time_point sent;
  Clock::duration latency{};  // until the whole answer was read
  unsigned status = 0;        // 0: never answered (the client gave up, or the connection failed)
  int priority = -1;          // index into LoadSpec::priorities; -1 without
  bool fallback = false;      // the answer carried X-Fallback
  bool shed = false;          // the answer carried X-Shed-Reason
};

// Requests sent with `X-Priority: name`, `percent` of all.
struct PriorityShare {
  std::string name;
  int percent = 0;
};

struct LoadSpec {
  uint16_t port = 0;
  std::string target;               // e.g. "/predict?model=sentiment"
  std::vector<std::string> bodies;  // JSON, sent in turn
  int clients = 16;
  double rate = 0;                  // requests per second over all clients; 0: closed loop
  Millis deadline{1000};            // X-Request-Timeout-Ms
  Millis give_up_after{1000};       // past the deadline
  std::vector<PriorityShare> priorities;  // empty: no X-Priority
};

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadSpec spec);  // starts sending at once
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // A new target rate (> 0), at once: the waiting clients' turns are spread over it anew.
  void set_rate(double rate);
  // Sends no more requests, waits for those in flight (each bounded by its deadline and the
  // grace) and returns every request's record, in no particular order.
  std::vector<RequestRecord> stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seraph::chaos
