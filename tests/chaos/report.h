#pragma once
// The suite's output: a table with one row per experiment (and one per priority of the overload),
// the goals each met or missed, and the same as JSON for machines.
#include <ostream>
#include <string>
#include <vector>

#include "experiments.h"

namespace seraph::chaos {

void print_table(std::ostream& out, const std::vector<ExperimentResult>& results);
void print_goals(std::ostream& out, const std::vector<ExperimentResult>& results);
std::string summary_json(const std::string& form, const std::vector<ExperimentResult>& results);

}  // namespace seraph::chaos
