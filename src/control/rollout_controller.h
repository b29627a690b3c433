#pragma once
// Moves a deployment to a candidate model version, by one of three strategies:
//   immediate   all traffic to the candidate at once;
//   blue_green  the candidate is loaded and warmed up first (step 0, traffic unchanged); once it
//               is READY, all traffic switches to it at once (step 1), and the baseline stays in
//               the deployment (weight 0) for an instant rollback until keep_previous_ms has
//               passed. A candidate that fails to load ends the rollout, traffic untouched;
//   canary      the candidate's share rises through the steps (e.g. 1, 5, 25, 50 percent), each
//               held for at least step_min_ms and step_min_requests candidate requests, and judged
//               by canary analysis as the data arrives: a worse candidate is rolled back at once,
//               a good one promoted to the next step and finally to all traffic.
// Each step and decision is written to the registry with its statistics before traffic moves, so
// a restarted server resumes a rollout from its last recorded step. Runs on the control plane's
// timer, off the hot path.
#include <cstdint>
#include <map>
#include <future>
#include <string>
#include <vector>

#include "control/canary_analysis.h"
#include "control/control_context.h"
#include "control/records_json.h"

namespace seraph {

struct RolloutSpec {
  std::vector<double> steps{1, 5, 25, 50};  // canary: the candidate's percentage at each step
  int64_t step_min_ms = 60000;
  int64_t step_min_requests = 200;
  int64_t keep_previous_ms = 600000;        // blue_green: how long the baseline stays ready for rollback
  AnalysisSettings analysis;

  std::string to_json() const;
  // Reads the members of a JSON object that it has (steps, step_min_ms, ..., analysis: {...});
  // absent ones keep their values. Checks types, not ranges (validate_rollout does that), and the
  // analysis object's members; the object's own others are its caller's (a rollout request's).
  static Status parse(simdjson::dom::element object, RolloutSpec& spec, UnknownMembers unknown);
};

// A rollout as the admin API asks for it.
struct RolloutRequest {
  std::string deployment;
  std::string environment;
  std::string strategy;  // immediate, blue_green, canary
  std::string model;     // the candidate
  int64_t version = 0;
  RolloutSpec spec;
};

// Checks a rollout request's strategy and spec; every problem names its field.
Status validate_rollout(const RolloutRequest& request);

class RolloutController {
 public:
  RolloutController(ControlContext& context, MetricsRegistry& metrics);

  // The caller holds the context's lock for every method.
  Status start(const RolloutRequest& request, RolloutRecord& out);
  Status pause(int64_t id, RolloutRecord& out);
  Status resume(int64_t id, RolloutRecord& out);
  Status promote(int64_t id, RolloutRecord& out);
  Status rollback(int64_t id, RolloutRecord& out);

  // Takes over the registry's running and paused rollouts (at start); fails when the registry
  // cannot be read. A rollout whose stored spec cannot be read is rolled back: the controller will
  // not judge a candidate without its settings. Members the spec has that this version does not
  // know (a newer replica sharing the registry wrote them) are skipped, so an upgrade does not roll
  // back every rollout in flight; the settings it knows still hold.
  Status resume_all();
  // Makes the periodic decisions. What fails is reported (ControlContext::report) and tried again
  // on the next tick.
  void tick();
  bool active_on(const std::string& environment, const std::string& deployment) const;

 private:
  struct Active {
    RolloutRecord record;
    RolloutSpec spec;
    int64_t looks = 0;  // analyses so far, over the whole rollout (for alpha spending)
    LookSchedule schedule;
    // blue_green while warming: the outcome of the candidate's load.
    std::future<Status> load_outcome;
  };

  Status find_active(int64_t id, Active*& active);
  void tick_canary(Active& active, int64_t now);
  void tick_blue_green(Active& active, int64_t now);
  // Asks for the blue_green candidate's load; tick_blue_green switches once it is READY.
  void warm_up(Active& active);
  // Writes the rollout's new state with its deployment and event in one change, then publishes.
  Status record(Active& active, std::vector<VariantRecord> variants, std::string kind, std::string details,
                std::string actor);
  Status finish_rollback(Active& active, const std::string& reason, std::string details, std::string actor);
  Status finish_promotion(Active& active, std::string details, std::string actor);
  void start_step(Active& active);

  // Every recorded decision and step, by kind (rollout.step, rollout.rolled_back, ...).
  void count(const Active& active, const std::string& kind);
  // A decision on the timer that failed: reported, so it is seen; the next tick tries again.
  void report(const Status& status, std::string_view operation);

  ControlContext& context_;
  Family<Counter>& events_;
  std::map<int64_t, Active> active_;  // running or paused rollouts, by id
};

}  // namespace seraph
