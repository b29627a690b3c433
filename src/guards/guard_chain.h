#pragma once
#include <memory>
#include <vector>

#include "guards/guard.h"

namespace seraph {

class Deployments;
class ModelManager;

class GuardChain {
 public:
  // The chain of DESIGN.md's order, holding only the guards the config enables.
  static GuardChain build(ModelManager& models, const Deployments& deployments);

  // Runs every guard's on_request in order; stops at the first refusal and returns how many ran.
  size_t run_request(Exchange& exchange) const;
  // Runs on_response of the first `ran` guards, last first.
  void run_response(Exchange& exchange, size_t ran) const;

  void add(std::unique_ptr<Guard> guard) { guards_.push_back(std::move(guard)); }

 private:
  std::vector<std::unique_ptr<Guard>> guards_;
};

}  // namespace seraph
