#pragma once
// The one table every guard is listed in: its name (which is also its config section,
// guards.<name>), its stage, whether it may be switched off, and its factory. Chains are built from
// it in table order; a guard switched off is not in the chain and costs nothing. A new guard is one
// file in guards/ and one row here.
#include <chrono>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guards/guard_chain.h"

namespace seraph {

class BackendDirectory;
class Deployments;
class ModelManager;

// What guards may be built with.
struct GuardContext {
  ModelManager& models;
  const Deployments& deployments;
  std::chrono::milliseconds request_timeout{30000};
  const BackendDirectory* backends = nullptr;  // remote backends variants may name; null: none
};

struct GuardRow {
  std::string_view name;
  Stage stage;
  bool optional;  // may be switched off with guards.<name>.enabled: false
  std::unique_ptr<Guard> (*make)(const GuardContext& context);
};

std::span<const GuardRow> guard_table();

// The guards of `stage`, in table order, leaving out those `enabled` switches off.
std::vector<std::unique_ptr<Guard>> build_guards(Stage stage, const GuardContext& context,
                                                 const std::map<std::string, bool, std::less<>>& enabled);

}  // namespace seraph
