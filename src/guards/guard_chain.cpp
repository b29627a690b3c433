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
    s.phase = Phase::kPausedRequest;  // until it returns: a resumption from inside it must wait
    s.in_guard = true;
    s.early_verdict = -1;
    RequestVerdict verdict = guard.on_request(exchange);
    s.in_guard = false;
    if (verdict == RequestVerdict::kPause) {
      if (s.early_verdict < 0) return;  // resumed later through resume_request
      verdict = static_cast<RequestVerdict>(s.early_verdict);
    }
    s.phase = Phase::kRequest;
    if (verdict == RequestVerdict::kRespond) {
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
    s.phase = Phase::kPausedResponse;
    s.in_guard = true;
    s.early_verdict = -1;
    ResponseVerdict verdict = guards_[at]->on_response(exchange);
    s.in_guard = false;
    if (verdict == ResponseVerdict::kPause) {
      if (s.early_verdict < 0) return;  // resumed later through resume_response
      verdict = static_cast<ResponseVerdict>(s.early_verdict);
    }
    s.phase = Phase::kResponse;
    if (verdict == ResponseVerdict::kRetry && !exchange.cancelled()) {  // no second call once answered
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
    if (s.phase != Phase::kPausedRequest) return;  // answered meanwhile (the deadline)
    if (s.in_guard) {
      s.early_verdict = static_cast<int>(verdict == RequestVerdict::kRespond ? verdict : RequestVerdict::kContinue);
      return;
    }
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
    if (s.in_guard) {
      s.early_verdict = static_cast<int>(verdict == ResponseVerdict::kRetry ? verdict : ResponseVerdict::kPass);
      return;
    }
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
