#include "guards/guard_chain.h"

namespace seraph {

using Phase = StageState::Phase;

GuardChain::GuardChain(Stage stage, std::vector<std::unique_ptr<Guard>> guards, Step terminal, Step finished)
    : stage_(stage), guards_(std::move(guards)), terminal_(std::move(terminal)), finished_(std::move(finished)) {}

void GuardChain::run(Exchange& exchange) const {
  StageState& s = state(exchange);
  s = StageState{this, 0, 0, Phase::kRequest};
  advance(exchange);
}

void GuardChain::advance(Exchange& exchange) const {
  StageState& s = state(exchange);
  while (s.next < guards_.size()) {
    Guard& guard = *guards_[s.next++];
    switch (guard.on_request(exchange)) {
      case RequestVerdict::kContinue: continue;
      case RequestVerdict::kPause: s.phase = Phase::kPausedRequest; return;
      case RequestVerdict::kRespond:
        // The guards before it see the answer on its way back; the one that answered does not.
        s.unwound = s.next - 1;
        s.phase = Phase::kResponse;
        return unwind(exchange);
    }
  }
  s.phase = Phase::kTerminal;
  terminal_(exchange);
}

void GuardChain::complete(Exchange& exchange) const {
  StageState& s = state(exchange);
  if (s.phase != Phase::kTerminal) return;  // answered meanwhile (the deadline): drop the late outcome
  s.unwound = guards_.size();
  s.phase = Phase::kResponse;
  unwind(exchange);
}

void GuardChain::unwind(Exchange& exchange) const {
  StageState& s = state(exchange);
  while (s.unwound > 0) {
    const size_t at = --s.unwound;
    switch (guards_[at]->on_response(exchange)) {
      case ResponseVerdict::kPass: continue;
      case ResponseVerdict::kPause: s.phase = Phase::kPausedResponse; return;
      case ResponseVerdict::kRetry:
        if (exchange.cancelled()) continue;  // no second call for a request already answered
        s.next = at + 1;
        s.phase = Phase::kRequest;
        return advance(exchange);
    }
  }
  s.phase = Phase::kDone;
  finished_(exchange);
}

void GuardChain::resume_request(Exchange& exchange, Stage stage, RequestVerdict verdict) {
  exchange.loop->dispatch([ex = exchange.shared_from_this(), stage, verdict] {
    StageState& s = ex->stages_[static_cast<size_t>(stage)];
    if (s.phase != Phase::kPausedRequest) return;  // cancelled meanwhile
    s.phase = Phase::kRequest;
    if (verdict != RequestVerdict::kRespond) return s.chain->advance(*ex);
    s.unwound = s.next - 1;
    s.phase = Phase::kResponse;
    s.chain->unwind(*ex);
  });
}

void GuardChain::resume_response(Exchange& exchange, Stage stage, ResponseVerdict verdict) {
  exchange.loop->dispatch([ex = exchange.shared_from_this(), stage, verdict] {
    StageState& s = ex->stages_[static_cast<size_t>(stage)];
    if (s.phase != Phase::kPausedResponse) return;
    s.phase = Phase::kResponse;
    if (verdict == ResponseVerdict::kRetry && !ex->cancelled()) {
      s.next = s.unwound + 1;
      s.phase = Phase::kRequest;
      return s.chain->advance(*ex);
    }
    s.chain->unwind(*ex);
  });
}

void GuardChain::abort(Exchange& exchange, Stage stage, Status status) {
  StageState& s = exchange.stages_[static_cast<size_t>(stage)];
  switch (s.phase) {
    case Phase::kIdle:
    case Phase::kDone:
      return;
    case Phase::kRequest:
    case Phase::kPausedRequest:
      s.unwound = s.next;  // the guard that paused sees the outcome too
      break;
    case Phase::kTerminal:
      s.unwound = s.chain->guards_.size();
      break;
    case Phase::kResponse:
    case Phase::kPausedResponse:
      break;
  }
  exchange.cancelled_.store(true, std::memory_order_release);
  exchange.status = std::move(status);
  exchange.response = {};
  s.phase = Phase::kResponse;
  s.chain->unwind(exchange);
}

}  // namespace seraph
