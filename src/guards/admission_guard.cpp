#include "guards/admission_guard.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "control/deployments.h"
#include "guards/guard_chain.h"
#include "models/model_version.h"
#include "models/remote/remote_backend.h"
#include "observe/metrics.h"

namespace seraph {

// One local model version or remote backend: its limiter and its metrics.
struct AdmissionTarget {
  AdmissionTarget(std::string label, const ConcurrencySettings& settings, MetricsRegistry& metrics)
      : label(std::move(label)),
        limiter(settings, Clock::now()),
        limit(metrics.gauge("seraph_admission_limit", "The adaptive concurrency limit, by target.")
                  .get({{"target", this->label}})),
        inflight(metrics.gauge("seraph_admission_inflight", "Requests holding an admission slot, by target.")
                     .get({{"target", this->label}})),
        queue_depth(metrics.gauge("seraph_admission_queue_depth", "Requests waiting for an admission slot, by target.")
                        .get({{"target", this->label}})) {
    Family<Counter>& family =
        metrics.counter("seraph_shed_total", "Requests shed by admission control, by target, priority and reason.");
    for (int p = 0; p < kPriorities; ++p) {
      for (int r = 0; r < kShedReasons; ++r) {
        shed[p][r] = &family.get({{"target", this->label},
                                  {"priority", std::string(priority_name(static_cast<Priority>(p)))},
                                  {"reason", std::string(shed_reason_name(static_cast<ShedReason>(r)))}});
      }
    }
  }

  const std::string label;  // "<model>/<version>", or "remote:<backend>"
  ConcurrencyLimiter limiter;
  Gauge& limit;
  Gauge& inflight;
  Gauge& queue_depth;
  Counter* shed[kPriorities][kShedReasons];
};

// Every target seen, made on its first request; they live as long as the guard (and the metrics).
class AdmissionTargets {
 public:
  AdmissionTargets(const ConcurrencySettings& settings, MetricsRegistry& metrics)
      : settings_(settings), metrics_(metrics) {}

  AdmissionTarget& get(const std::string& label) {
    std::lock_guard lock(mutex_);
    auto& target = targets_[label];
    if (!target) target = std::make_unique<AdmissionTarget>(label, settings_, metrics_);
    return *target;
  }

  // Before a scrape: the gauges read the limiters.
  void refresh() {
    std::lock_guard lock(mutex_);
    for (auto& [label, t] : targets_) {
      t->limit.set(t->limiter.limit());
      t->inflight.set(t->limiter.inflight());
      t->queue_depth.set(t->limiter.queue_depth());
    }
  }

 private:
  const ConcurrencySettings settings_;
  MetricsRegistry& metrics_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<AdmissionTarget>> targets_;
};

namespace {

std::atomic<uint64_t> next_guard_id{1};

// The caller's API key's priority is its default and its ceiling: X-Priority may lower it, never
// raise it. Without one: X-Priority, else the deployment's default, else normal.
Status priority_of(const Exchange& exchange, Priority& priority) {
  const std::optional<Priority> ceiling = exchange.principal.priority;
  priority = ceiling.value_or(Priority::kNormal);
  if (std::string_view header = exchange.headers.header("x-priority"); !header.empty()) {
    const std::optional<Priority> asked = parse_priority(header);
    if (!asked) return invalid_argument(fmt::format("X-Priority must be critical, normal or low, got '{}'", header));
    priority = ceiling ? std::min(*asked, *ceiling) : *asked;
    return {};
  }
  // The deployment's default was checked when it was published.
  if (!ceiling && exchange.deployment && !exchange.deployment->policy.priority.empty()) {
    priority = parse_priority(exchange.deployment->policy.priority).value_or(Priority::kNormal);
  }
  return {};
}

// The target's label: one per local version, one per remote backend; empty for anything else.
std::string label_of(const Exchange& exchange) {
  if (exchange.version) return fmt::format("{}/{}", exchange.version->model(), exchange.version->version());
  if (const auto* remote = dynamic_cast<const RemoteModel*>(exchange.backend.get())) {
    return "remote:" + remote->backend_name();
  }
  return {};
}

// The targets this thread has looked up, by the backend object they were found for: the weak
// pointer holds the backend's control block, so a later backend never matches a dead one's entry.
struct CachedTarget {
  uint64_t guard;
  std::weak_ptr<Backend> backend;
  AdmissionTarget* target;
};
constexpr size_t kMaxCachedTargets = 64;

AdmissionTarget* find_target(uint64_t guard, AdmissionTargets& targets, const Exchange& exchange) {
  thread_local std::vector<CachedTarget> cache;
  const std::shared_ptr<Backend>& backend = exchange.backend;
  if (!backend) return nullptr;
  for (const CachedTarget& c : cache) {
    if (c.guard == guard && !c.backend.owner_before(backend) && !backend.owner_before(c.backend)) return c.target;
  }
  const std::string label = label_of(exchange);
  if (label.empty()) return nullptr;
  if (cache.size() >= kMaxCachedTargets) cache.clear();
  AdmissionTarget* target = &targets.get(label);
  cache.push_back({guard, backend, target});
  return target;
}

// Answers 503 (the router adds Retry-After) and counts it.
void refuse(Exchange& exchange, const AdmissionTarget& target, Priority priority, ShedReason reason) {
  target.shed[static_cast<int>(priority)][static_cast<int>(reason)]->add();
  exchange.response_headers.emplace_back("X-Shed-Reason", std::string(shed_reason_name(reason)));
  exchange.status = unavailable(
      fmt::format("overloaded: '{}' shed a {} priority request ({}; limit {}, {} in flight, {} waiting); retry later",
                  target.label, priority_name(priority), shed_reason_name(reason), target.limiter.limit(),
                  target.limiter.inflight(), target.limiter.queue_depth()));
}

}  // namespace

AdmissionGuard::AdmissionGuard(const ConcurrencySettings& settings, MetricsRegistry& metrics)
    : id_(next_guard_id.fetch_add(1)), targets_(std::make_shared<AdmissionTargets>(settings, metrics)) {
  metrics.on_collect([targets = targets_] { targets->refresh(); });
}

AdmissionGuard::~AdmissionGuard() = default;

RequestVerdict AdmissionGuard::on_request(Exchange& exchange) {
  auto& role = exchange.admission;
  role.phase = Exchange::AdmissionRole::kNone;
  if (Status s = priority_of(exchange, role.priority); !s.is_ok()) {
    exchange.status = std::move(s);
    return RequestVerdict::kRespond;
  }
  role.target = find_target(id_, *targets_, exchange);
  if (!role.target) return RequestVerdict::kContinue;
  ConcurrencyLimiter& limiter = role.target->limiter;
  if (limiter.try_acquire(role.priority)) {
    role.phase = Exchange::AdmissionRole::kHolding;
    role.since = Clock::now();
    return RequestVerdict::kContinue;
  }
  // No slot free: queue or shed. The guard outlives the request (the router owns the chains).
  const TimePoint now = Clock::now();
  auto wake = [this, ex = exchange.shared_from_this(), target = role.target](uint64_t ticket,
                                                                             std::optional<ShedReason> shed) {
    ex->loop->dispatch([this, ex, target, ticket, shed] { on_woken(*ex, *target, ticket, shed); });
  };
  const ConcurrencyLimiter::Admission admission =
      limiter.acquire(role.priority, now, exchange.deadline, std::move(wake));
  switch (admission.kind) {
    case ConcurrencyLimiter::Admission::kAcquired:
      role.phase = Exchange::AdmissionRole::kHolding;
      role.since = now;
      return RequestVerdict::kContinue;
    case ConcurrencyLimiter::Admission::kShed:
      refuse(exchange, *role.target, role.priority, admission.reason);
      return RequestVerdict::kRespond;
    case ConcurrencyLimiter::Admission::kQueued: break;
  }
  role.phase = Exchange::AdmissionRole::kWaiting;
  role.ticket = admission.ticket;
  exchange.loop->run_at(admission.wait_until, [this, ex = exchange.shared_from_this(), ticket = admission.ticket] {
    on_wait_over(*ex, ticket);
  });
  return RequestVerdict::kPause;
}

void AdmissionGuard::on_woken(Exchange& exchange, AdmissionTarget& target, uint64_t ticket,
                              std::optional<ShedReason> shed) {
  auto& role = exchange.admission;
  if (role.phase != Exchange::AdmissionRole::kWaiting || role.ticket != ticket) {
    // The deadline answered while the slot was on its way: give it on.
    if (!shed) target.limiter.release(Clock::now(), std::nullopt);
    return;
  }
  if (!shed) {
    role.phase = Exchange::AdmissionRole::kHolding;
    role.since = Clock::now();
    return GuardChain::resume_request(exchange, Stage::kInference, RequestVerdict::kContinue);
  }
  role.phase = Exchange::AdmissionRole::kNone;
  refuse(exchange, *role.target, role.priority, *shed);
  GuardChain::resume_request(exchange, Stage::kInference, RequestVerdict::kRespond);
}

void AdmissionGuard::on_wait_over(Exchange& exchange, uint64_t ticket) {
  auto& role = exchange.admission;
  if (role.phase != Exchange::AdmissionRole::kWaiting || role.ticket != ticket) return;
  if (!role.target->limiter.withdraw(ticket)) return;  // granted or shed just now: its wake is on its way
  role.phase = Exchange::AdmissionRole::kNone;
  refuse(exchange, *role.target, role.priority, ShedReason::kQueueTimeout);
  GuardChain::resume_request(exchange, Stage::kInference, RequestVerdict::kRespond);
}

ResponseVerdict AdmissionGuard::on_response(Exchange& exchange) {
  auto& role = exchange.admission;
  switch (role.phase) {
    case Exchange::AdmissionRole::kNone: break;
    case Exchange::AdmissionRole::kWaiting:
      // The deadline answered a waiter: out of the queue, or, when a slot or a shed is already on
      // its way, on_woken finds the wait over (and gives a slot on).
      role.target->limiter.withdraw(role.ticket);
      role.phase = Exchange::AdmissionRole::kNone;
      break;
    case Exchange::AdmissionRole::kHolding: {
      // A success, or a deadline the target did not meet, says how fast it is; other failures
      // (a refusal further on, a fast error) say nothing of its latency.
      const TimePoint now = Clock::now();
      const bool sample = exchange.status.is_ok() || exchange.status.code() == StatusCode::kDeadlineExceeded;
      role.phase = Exchange::AdmissionRole::kNone;
      role.target->limiter.release(now, sample ? std::optional(now - role.since) : std::nullopt);
      break;
    }
  }
  return ResponseVerdict::kPass;
}

}  // namespace seraph
