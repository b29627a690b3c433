#pragma once
// The five chaos experiments of the suite. Each starts its own topology, drives steady load through
// the gateway, disturbs one backend, and checks its goals.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "outcomes.h"

namespace seraph::chaos {

struct SuiteSettings {
  std::filesystem::path templates;   // gateway.yaml and backend.yaml
  std::filesystem::path repository;  // the models the processes serve
  Millis warm_up{3000};              // steady load before the disturbance
  Millis disturbance{20000};
  Millis cool_down{7000};            // steady load after it
  Millis capacity_probe{5000};       // closed loop, measuring capacity (experiment 5)
  Millis unloaded_probe{3000};       // at a tenth of capacity, measuring the unloaded p99
  double rate = 200;                 // steady load, requests per second
  int clients = 64;
  Millis deadline{1000};             // every request's X-Request-Timeout-Ms
  Millis grace{250};                 // an answer later than deadline + grace is late
  Millis give_up_after{1000};        // past the deadline: never answered
};

struct Goal {
  std::string name;
  bool met = false;
  std::string detail;  // the measured figure against its bound
};

struct ExperimentResult {
  int number = 0;
  std::string name;
  Tally tally;                                       // the whole run: warm-up, disturbance, cool-down
  std::optional<Millis> recovery;                    // from the disturbance's end
  std::vector<std::pair<std::string, Tally>> parts;  // experiment 5: each priority during the overload
  std::vector<std::pair<std::string, double>> figures;
  std::vector<Goal> goals;

  bool goals_met() const;
};

// Runs experiment `number` (1 to 5).
ExperimentResult run_experiment(int number, const SuiteSettings& settings);

}  // namespace seraph::chaos
