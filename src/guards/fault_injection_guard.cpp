#include "guards/fault_injection_guard.h"

#include <array>
#include <charconv>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "control/deployments.h"
#include "guards/guard_chain.h"
#include "resilience/backend_faults.h"

namespace seraph {
namespace {

constexpr std::string_view kDelayHeader = "X-Seraph-Fault-Delay-Ms";
constexpr std::string_view kAbortHeader = "X-Seraph-Fault-Abort";

double thread_roll() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 100.0)(generator);
}

Status abort_status(int http_status, std::string message) {
  switch (http_status) {
    case 429: return {StatusCode::kResourceExhausted, std::move(message)};
    case 500: return internal_error(std::move(message));
    case 504: return {StatusCode::kDeadlineExceeded, std::move(message)};
    case 503:
    default: return unavailable(std::move(message));  // is_abort_status() allows no other
  }
}

std::optional<int64_t> parse_integer(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The request's own faults, each certain to happen; a value that is not one is an error naming its header.
Status header_fault(const HeaderLookup& headers, FaultSpec& out) {
  if (std::string_view text = headers.header(kDelayHeader); !text.empty()) {
    auto ms = parse_integer(text);
    if (!ms || *ms < 0 || *ms > 600000) {
      return invalid_argument(fmt::format("{} must be milliseconds from 0 to 600000, got '{}'", kDelayHeader, text));
    }
    out.delay_ms = static_cast<double>(*ms);
    out.delay_percent = 100;
  }
  if (std::string_view text = headers.header(kAbortHeader); !text.empty()) {
    auto status = parse_integer(text);
    if (!status || !is_abort_status(static_cast<int>(*status))) {
      return invalid_argument(fmt::format("{} must be 429, 500, 503 or 504, got '{}'", kAbortHeader, text));
    }
    out.abort_status = static_cast<int>(*status);
    out.abort_percent = 100;
  }
  return {};
}

// Who an abort came from, for its message.
std::string aborted_by(const Exchange& exchange, FaultSource source) {
  switch (source) {
    case FaultSource::kDeployment: return fmt::format("deployment '{}'", exchange.deployment->name);
    case FaultSource::kVariant: return fmt::format("variant '{}'", exchange.variant->record.name);
    case FaultSource::kBackend: return fmt::format("backend '{}'", exchange.variant->record.backend);
    case FaultSource::kHeader: break;
  }
  return std::string(kAbortHeader);
}

}  // namespace

FaultInjectionGuard::FaultInjectionGuard(const FaultInjectionSettings& settings, const BackendFaults* backends,
                                         MetricsRegistry& metrics, Roll roll)
    : allow_request_headers_(settings.allow_request_headers),
      backends_(backends),
      roll_(roll ? std::move(roll) : Roll(thread_roll)),
      active_(settings.max_active),
      skipped_(metrics
                   .counter("seraph_faults_skipped_total",
                            "Faults not injected, by reason (max_active: the cap on faults in progress).")
                   .get({{"reason", "max_active"}})),
      unrouted_delays_(faults_injected_family(metrics).get({{"fault", "delay"}, {"source", "header"}})),
      unrouted_aborts_(faults_injected_family(metrics).get({{"fault", "abort"}, {"source", "header"}})) {}

bool FaultInjectionGuard::happens(double percent) const { return percent > 0 && (percent >= 100 || roll_() < percent); }

void FaultInjectionGuard::count(const Exchange& exchange, FaultKind kind, FaultSource source) {
  if (exchange.variant) return exchange.variant->stats->record_fault(kind, source);
  (kind == FaultKind::kDelay ? unrouted_delays_ : unrouted_aborts_).add();
}

RequestVerdict FaultInjectionGuard::on_request(Exchange& exchange) {
  // The faults that may be injected, in the order they are tried; copies where they are read from
  // a header or a backend's atomics.
  FaultSpec from_header, from_backend;
  std::array<std::pair<FaultSource, const FaultSpec*>, 4> faults;
  size_t n = 0;
  if (allow_request_headers_) {
    if (Status s = header_fault(exchange.headers, from_header); !s.is_ok()) {
      exchange.status = std::move(s);
      return RequestVerdict::kRespond;
    }
    faults[n++] = {FaultSource::kHeader, &from_header};
  }
  if (const LiveVariant* variant = exchange.variant) {
    if (exchange.deployment) faults[n++] = {FaultSource::kDeployment, &exchange.deployment->policy.fault};
    faults[n++] = {FaultSource::kVariant, &variant->record.fault};
    if (backends_ && !variant->record.backend.empty() && backends_->get(variant->record.backend, from_backend)) {
      faults[n++] = {FaultSource::kBackend, &from_backend};
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const auto [source, fault] = faults[i];
    if (!happens(fault->abort_percent)) continue;
    // An abort ends as it begins: it needs only room under the cap.
    if (!active_.has_room()) {
      skipped_.add();
      return RequestVerdict::kContinue;
    }
    count(exchange, FaultKind::kAbort, source);
    // Injected to be seen, by the client and by canary analysis: the retry guard leaves it be.
    exchange.status = abort_status(fault->abort_status,
                                   fmt::format("fault injected: {} aborted the request", aborted_by(exchange, source)))
                          .with_cause(FailureCause::kInjectedFault);
    return RequestVerdict::kRespond;
  }
  for (size_t i = 0; i < n; ++i) {
    const auto [source, fault] = faults[i];
    if (fault->delay_ms <= 0 || !happens(fault->delay_percent)) continue;
    ActiveFaults::Ticket ticket = active_.begin();
    if (!ticket) {
      skipped_.add();
      return RequestVerdict::kContinue;
    }
    count(exchange, FaultKind::kDelay, source);
    const TimePoint until = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(fault->delay_ms * 1000));
    // The ticket is held until the delay ends: the timer fires, or is dropped with the answered request.
    exchange.loop->run_at(until, [ex = exchange.shared_from_this(), ticket = std::move(ticket)]() mutable {
      ticket.reset();
      GuardChain::resume_request(*ex, Stage::kInference, RequestVerdict::kContinue);
    });
    return RequestVerdict::kPause;
  }
  return RequestVerdict::kContinue;
}

}  // namespace seraph
