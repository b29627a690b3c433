#pragma once
// Runs one stage of guards around its terminal step. The endpoint stage runs for every HTTP
// request and ends in the route's handler; the inference stage ends in the backend. The chain
// itself is immutable once built; where a request stands lives in its Exchange, so one chain
// serves every thread.
#include <functional>
#include <memory>
#include <vector>

#include "guards/guard.h"

namespace seraph {

enum class Stage { kEndpoint = 0, kInference = 1 };

class GuardChain {
 public:
  // `terminal` runs after the last request half and must lead to complete(); `finished` runs once
  // the response halves are done (or the request was cancelled), on the I/O thread.
  using Step = std::function<void(Exchange&)>;
  GuardChain(Stage stage, std::vector<std::unique_ptr<Guard>> guards, Step terminal, Step finished);

  // Starts the stage for `exchange` (on its I/O thread).
  void run(Exchange& exchange) const;
  // The terminal step's outcome is in the exchange: run the response halves (on the I/O thread).
  void complete(Exchange& exchange) const;

  // For a guard that paused: continue (kContinue) or answer (kRespond) the request; from any thread.
  static void resume_request(Exchange& exchange, Stage stage, RequestVerdict verdict);
  // For a guard that paused in its response half: pass or retry; from any thread.
  static void resume_response(Exchange& exchange, Stage stage, ResponseVerdict verdict);
  // Answers `status` now (the deadline): marks the exchange cancelled, so late work is dropped,
  // and runs the response halves of the guards that ran. On the I/O thread; nothing once the
  // stage has finished.
  static void abort(Exchange& exchange, Stage stage, Status status);

  const std::vector<std::unique_ptr<Guard>>& guards() const { return guards_; }

 private:
  void advance(Exchange& exchange) const;
  void unwind(Exchange& exchange) const;
  StageState& state(Exchange& exchange) const { return exchange.stages_[static_cast<size_t>(stage_)]; }

  const Stage stage_;
  const std::vector<std::unique_ptr<Guard>> guards_;
  const Step terminal_;
  const Step finished_;
};

}  // namespace seraph
