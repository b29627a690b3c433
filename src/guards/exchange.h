#pragma once
// One request on its way through the guard chain and back: what it owns of the HTTP request,
// what the guards decided, and the outcome. Guards read and write it on the connection's I/O
// thread only; a guard that paused resumes it from any thread through the chain.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/cache_key.h"
#include "core/clock.h"
#include "core/headers.h"
#include "core/inference.h"
#include "core/principal.h"
#include "core/status.h"
#include "observe/request_observer.h"
#include "resilience/backend_resilience.h"
#include "resilience/circuit_breaker.h"

namespace seraph {

class Backend;
class ModelVersion;
struct ModelConfig;
struct DeploymentTable;
struct LiveDeployment;
struct LiveVariant;
class GuardChain;
class HedgingBackend;
struct AdmissionTarget;
enum class Priority : uint8_t;

struct LiveFallbackStep;

// Where a request stands in its deployment's fallback chain.
struct FallbackState {
  uint8_t next = 0;                          // the next step to try
  uint64_t failed_variants = 0;              // bit i: variant i of the deployment failed this request
  const LiveFallbackStep* serving = nullptr;  // the step now serving the request; null: the routed variant
  TimePoint variant_start{};                  // when a variant step's call began
  // The failure of `variant` is already in its stats: observers leave them be (each attempt counts once).
  bool variant_recorded = false;
};

// The thread an exchange belongs to (its connection's I/O thread) and its timers.
class ExchangeLoop {
 public:
  virtual ~ExchangeLoop() = default;
  // Runs `run` on the loop's thread: at once when called there (not wrapped in a std::function, a
  // per-request allocation on the inline path), else as soon as the loop gets to it.
  template <class Run>
  void dispatch(Run&& run) {
    if (on_loop_thread()) {
      std::forward<Run>(run)();
    } else {
      post(std::function<void()>(std::forward<Run>(run)));
    }
  }
  virtual bool on_loop_thread() const = 0;
  // Runs `run` on the loop's thread once it gets to it, never at once.
  virtual void post(std::function<void()> run) = 0;
  // Runs `run` on the loop's thread at `when`, unless the request is answered first (then `run`
  // is destroyed unrun). One wait at a time per exchange (an injected delay, a retry's back-off).
  // A paused exchange is kept alive by what its resumption holds: capture it strongly.
  virtual void run_at(TimePoint when, std::function<void()> run) = 0;
  // Calls `expired` on the loop's thread at `deadline` unless the request is answered first.
  virtual void set_deadline(TimePoint deadline, std::function<void()> expired) = 0;
};

// Where one stage of the chain stands; see guard_chain.cpp.
struct StageState {
  const GuardChain* chain = nullptr;
  size_t next = 0;       // the next guard whose request half runs
  size_t unwound = 0;    // response halves still to run: guards [0, unwound)
  enum class Phase : uint8_t { kIdle, kRequest, kPausedRequest, kTerminal, kResponse, kPausedResponse, kDone };
  Phase phase = Phase::kIdle;
  // A guard that resumes before its own call has returned (its reply came at once, on this
  // thread): the verdict waits here until the call returns kPause.
  bool in_guard = false;
  int early_verdict = -1;
};

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<ExchangeLoop> loop, TimePoint start) : start(start), loop(std::move(loop)) {}
  virtual ~Exchange() = default;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const TimePoint start;
  const std::shared_ptr<ExchangeLoop> loop;

  // What the exchange owns of the request: nothing here points into the connection's parser.
  std::string_view method;  // a static name: "GET", "POST", ...
  std::string path;         // without the query
  std::string query;
  HeaderMap headers;
  Handler handler = Handler::kNotFound;
  Role required_role = Role::kNone;  // what the route asks of the caller (the auth guard checks it)
  std::string client_address;        // the peer's IP address
  std::string client_certificate_subject;  // the verified TLS client certificate's (CN or RFC 2253); empty: none
  std::string request_id;            // set by the request-id guard
  Principal principal;               // set by the auth guard; anonymous when auth is off

  // Inference: the decoded request (immutable, shared with retries, shadows and the backend), its
  // deadline, and what routing chose.
  std::shared_ptr<const InferRequest> request;
  TimePoint deadline = TimePoint::max();
  // The local version that serves, when one does: owned through `backend` (or, while a guard wraps
  // the backend, by the wrapper), so that a request counts once on the version's shared line.
  ModelVersion* version = nullptr;
  std::shared_ptr<Backend> backend;        // where the request executes
  // A remote model's tensor contract (its inputs, outputs and labels), as its backend read it from
  // the model's metadata (null until it has). A local version's is its config: serving_contract()
  // (guards/route_guard.h) gives either, without another count on the version's shared line.
  std::shared_ptr<const ModelConfig> remote_contract;
  std::shared_ptr<const DeploymentTable> routing;  // keeps deployment and variants alive
  const LiveDeployment* deployment = nullptr;
  const LiveVariant* variant = nullptr;
  const LiveVariant* shadow = nullptr;     // a copy of the request goes there after the answer
  std::shared_ptr<Backend> shadow_backend;  // the shadow's backend when it is remote

  // The outcome: an error status, or OK with the response.
  Status status;
  InferResponse response;
  std::vector<std::pair<std::string, std::string>> response_headers;  // added by guards

  // The response cache's part (guards/cache_guard.h): what this request does with the answer.
  struct CacheRole {
    enum Kind : uint8_t { kNone, kLead, kWait, kStore } kind = kNone;
    CacheKey key;
    uint64_t ticket = 0;  // kLead: for SingleFlight::finish; kWait: for SingleFlight::leave
    std::shared_ptr<const InferResponse> expired;  // an expired answer for the key, for the fallback guard
  } cache;

  // The circuit breaker guard's call in progress (guards/circuit_breaker_guard.h); breaker null: none.
  struct CircuitBreakerCall {
    CircuitBreaker* breaker = nullptr;
    CircuitBreaker::Permit permit;
    TimePoint started;
  } circuit_breaker;
  // The retry guard's part (guards/retry_guard.h): whose retry budget counts this request, the
  // retries made, and the hedging wrapper it put in front of the backend.
  struct RetryState {
    RetryState() = default;
    RetryState(const RetryState&) = delete;
    RetryState& operator=(const RetryState&) = delete;
    ~RetryState() { release(); }
    // Stops counting the request and its retry in flight; harmless when nothing is counted.
    void release() {
      if (counted && retry_in_flight) counted->budget.finish_retry();
      if (counted) counted->budget.finish_request();
      counted = nullptr;
      retry_in_flight = false;
      owner.reset();
    }
    BackendResilience* counted = nullptr;  // lives as long as exchange.backend, or `owner` meanwhile
    std::shared_ptr<Backend> owner;        // held while the back-off waits (the backend may change then)
    bool retry_in_flight = false;
    int retries = 0;
    std::shared_ptr<HedgingBackend> hedging;
  } retry;
  // The admission guard's part (guards/admission_guard.h): the slot this request holds or waits for.
  struct AdmissionRole {
    enum Phase : uint8_t { kNone, kWaiting, kHolding } phase = kNone;
    Priority priority{};
    AdmissionTarget* target = nullptr;
    uint64_t ticket = 0;  // kWaiting: the queue's ticket
    TimePoint since{};    // kHolding: when the slot was taken
  } admission;
  // The fallback guard's part (guards/fallback_guard.h): where the request is in its deployment's
  // fallback chain.
  FallbackState fallback;

  // Set once the deadline has answered: late work for this request is dropped.
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  friend class GuardChain;
  std::atomic<bool> cancelled_{false};
  StageState stages_[2];
};

}  // namespace seraph
