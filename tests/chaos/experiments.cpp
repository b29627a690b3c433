#include "experiments.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "topology.h"

namespace seraph::chaos {
namespace {

// The backend every disturbance hits; the other keeps serving.
constexpr int kVictim = 0;
// Experiment 5's mix of priorities: critical requests are shed last.
const std::vector<PriorityShare> kPriorityMix = {{"critical", 20}, {"normal", 40}, {"low", 40}};
constexpr double kOverloadFactor = 3;
constexpr double kSuccessGoal = 0.999;          // experiments 1 to 4, with a fallback configured
constexpr double kGoodputGoal = 0.9;            // of the measured capacity
constexpr double kAdmittedLatencyFactor = 2;    // admitted p99 against the unloaded p99
constexpr int kMaxClients = 4000;               // the overload's connections, within the file limit
const std::string kServiceTime = R"({"delay_ms": 20, "delay_percent": 100})";  // experiment 5's backends

// The gateway's deployments (gateway.yaml): `sentiment` falls back to the gateway's local copy of
// the model; `sentiment-pool` has no fallback, so that experiment 5 sees the pool's own shedding.
constexpr std::string_view kWithFallback = "sentiment";
constexpr std::string_view kPoolOnly = "sentiment-pool";

LoadSpec steady_load(const SuiteSettings& settings, uint16_t port, std::string_view deployment, double rate,
                     int clients) {
  LoadSpec spec;
  spec.port = port;
  spec.target = fmt::format("/predict?model={}", deployment);
  spec.bodies = {R"({"text":"what a wonderful, moving film"})", R"({"text":"dull and far too long"})"};
  spec.clients = clients;
  spec.rate = rate;
  spec.deadline = settings.deadline;
  spec.give_up_after = settings.give_up_after;
  return spec;
}

void hold(Millis phase) { std::this_thread::sleep_for(phase); }

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The goals every experiment has: each request answered, and by its deadline plus the grace.
void add_answer_goals(const SuiteSettings& settings, const std::vector<RequestRecord>& records,
                      ExperimentResult& result) {
  const Tally& t = result.tally;
  result.goals.push_back({"every request answered", t.never_answered == 0,
                          fmt::format("{} of {} never answered", t.never_answered, t.sent)});
  const double bound_ms = static_cast<double>((settings.deadline + settings.grace).count());
  const auto late = std::count_if(records.begin(), records.end(),
                                  [&](const RequestRecord& r) { return r.status != 0 && latency_ms(r) > bound_ms; });
  result.goals.push_back({"every answer by its deadline", late == 0,
                          fmt::format("{} answers after {:.0f} ms (slowest {:.0f} ms)", late, bound_ms, t.max_ms)});
}

// Experiments 1 to 4: steady load; `disturb` at the warm-up's end, `restore` after the
// disturbance; the disturbance ends when `restore` returns.
ExperimentResult disturbance_experiment(int number, std::string name, const SuiteSettings& settings,
                                        const std::function<void(Topology&)>& disturb,
                                        const std::function<void(Topology&)>& restore) {
  Topology topology(settings.templates, settings.repository);
  LoadGenerator load(steady_load(settings, topology.gateway_port(), kWithFallback, settings.rate, settings.clients));
  hold(settings.warm_up);
  disturb(topology);
  hold(settings.disturbance);
  restore(topology);
  const Clock::time_point end = Clock::now();
  hold(settings.cool_down);
  const std::vector<RequestRecord> records = load.stop();

  ExperimentResult result;
  result.number = number;
  result.name = std::move(name);
  result.tally = tally(records);
  result.recovery = time_to_recover(records, end);
  add_answer_goals(settings, records, result);
  result.goals.push_back({"99.9% succeed (with a fallback)", result.tally.success_ratio() >= kSuccessGoal,
                          fmt::format("{:.2f}% succeeded", 100 * result.tally.success_ratio())});
  return result;
}

// Experiment 5: capacity (closed loop), the unloaded p99 (a tenth of capacity), then 3x capacity
// with a mix of priorities for the disturbance's length, then half of capacity for the cool-down.
// The demo model answers in microseconds, faster than a load generator on the same cores could
// offer three times of; so each backend takes kServiceTime per request (its fault's delay, which
// costs no CPU) and capacity is the gateway's connections per endpoint over that time.
ExperimentResult overload_experiment(const SuiteSettings& settings) {
  Topology topology(settings.templates, settings.repository);
  for (int b = 0; b < Topology::kBackends; ++b) topology.set_backend_fault(b, kServiceTime);
  const uint16_t port = topology.gateway_port();
  ExperimentResult result;
  result.number = 5;
  result.name = "overload 3x";

  LoadGenerator probe(steady_load(settings, port, kPoolOnly, 0, settings.clients));
  hold(settings.capacity_probe);
  const Tally closed_loop = tally(probe.stop());
  const double capacity = static_cast<double>(closed_loop.succeeded) / seconds(settings.capacity_probe);
  if (capacity <= 0) throw std::runtime_error("overload: no request succeeded while measuring capacity");

  LoadGenerator quiet(steady_load(settings, port, kPoolOnly, capacity / 10, settings.clients));
  hold(settings.unloaded_probe);
  const Tally unloaded = tally(quiet.stop());

  // Enough clients to keep 3x capacity in flight for a whole deadline: the offer holds whether the
  // gateway sheds at once or holds requests until their deadline.
  const double target = kOverloadFactor * capacity;
  const int clients = std::clamp(static_cast<int>(target * seconds(settings.deadline)), settings.clients, kMaxClients);
  LoadSpec overload = steady_load(settings, port, kPoolOnly, target, clients);
  overload.priorities = kPriorityMix;
  LoadGenerator load(overload);
  const Clock::time_point start = Clock::now();
  hold(settings.disturbance);
  load.set_rate(capacity / 2);
  const Clock::time_point end = Clock::now();
  hold(settings.cool_down);
  const std::vector<RequestRecord> records = load.stop();

  const auto during = [&](const RequestRecord& r) { return r.sent >= start && r.sent < end; };
  const Tally overloaded = tally(records, during);
  const Tally admitted = tally(records, [&](const RequestRecord& r) { return during(r) && r.status != 0 && !r.shed; });
  std::vector<Tally> by_priority;
  for (size_t p = 0; p < kPriorityMix.size(); ++p) {
    by_priority.push_back(
        tally(records, [&](const RequestRecord& r) { return during(r) && r.priority == static_cast<int>(p); }));
    result.parts.emplace_back(kPriorityMix[p].name, by_priority.back());
  }
  // Goodput: successes answered during the overload (those sent in it are answered up to a deadline later).
  const auto answered_during = std::count_if(records.begin(), records.end(), [&](const RequestRecord& r) {
    return succeeded(r) && r.sent + r.latency >= start && r.sent + r.latency < end;
  });
  const double goodput = static_cast<double>(answered_during) / seconds(end - start);
  result.tally = tally(records);
  result.recovery = time_to_recover(records, end);
  result.figures = {{"capacity_rps", capacity},
                    {"unloaded_p99_ms", unloaded.p99_ms},
                    {"target_rps", target},
                    {"clients", clients},
                    {"offered_rps", static_cast<double>(overloaded.sent) / seconds(end - start)},
                    {"goodput_rps", goodput},
                    {"admitted_p99_ms", admitted.p99_ms}};

  add_answer_goals(settings, records, result);
  result.goals.push_back({"goodput >= 90% of capacity", goodput >= kGoodputGoal * capacity,
                          fmt::format("{:.0f} of {:.0f} requests/s", goodput, capacity)});
  result.goals.push_back({"admitted p99 <= 2x unloaded p99", admitted.p99_ms <= kAdmittedLatencyFactor * unloaded.p99_ms,
                          fmt::format("{:.1f} ms against {:.1f} ms unloaded", admitted.p99_ms, unloaded.p99_ms)});
  // Shed last: the share shed falls with rising priority, and shedding happened at all.
  const auto shed_share = [](const Tally& t) { return t.sent ? static_cast<double>(t.shed) / static_cast<double>(t.sent) : 0; };
  const double critical = shed_share(by_priority[0]), normal = shed_share(by_priority[1]), low = shed_share(by_priority[2]);
  result.goals.push_back({"critical requests shed last", low > 0 && low >= normal && normal >= critical,
                          fmt::format("shed {:.1f}% critical, {:.1f}% normal, {:.1f}% low", 100 * critical,
                                      100 * normal, 100 * low)});
  return result;
}

}  // namespace

bool ExperimentResult::goals_met() const {
  return std::all_of(goals.begin(), goals.end(), [](const Goal& g) { return g.met; });
}

ExperimentResult run_experiment(int number, const SuiteSettings& settings) {
  const std::string delay = R"({"delay_ms": 500, "delay_percent": 100})";
  const std::string flap = R"({"abort_percent": 50, "abort_status": 503})";
  switch (number) {
    case 1:
      return disturbance_experiment(
          1, "backend killed", settings, [](Topology& t) { t.kill_backend(kVictim); },
          [](Topology& t) { t.restart_backend(kVictim); });
    case 2:
      return disturbance_experiment(
          2, "backend hangs", settings, [](Topology& t) { t.pause_backend(kVictim); },
          [](Topology& t) { t.resume_backend(kVictim); });
    case 3:
      return disturbance_experiment(
          3, "backend slow", settings, [&](Topology& t) { t.set_backend_fault(kVictim, delay); },
          [](Topology& t) { t.set_backend_fault(kVictim, "{}"); });
    case 4:
      return disturbance_experiment(
          4, "backend flaps", settings, [&](Topology& t) { t.set_backend_fault(kVictim, flap); },
          [](Topology& t) { t.set_backend_fault(kVictim, "{}"); });
    case 5:
      return overload_experiment(settings);
    default:
      throw std::invalid_argument(fmt::format("no experiment {} (1 to 5)", number));
  }
}

}  // namespace seraph::chaos
