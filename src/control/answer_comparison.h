#pragma once
// Compares two answers to the same request (the served one and a shadow's), and finds an
// answer's top label, which experiments record to judge later feedback.
#include <string>

#include "core/inference.h"

namespace seraph {

// The first output's top label: its first element for BYTES outputs (a label), else the index of
// the largest value in its first row. Empty when there is no output.
std::string top_label(const InferResponse& response);

struct AnswerComparison {
  bool same_top_label = false;
  double max_abs_difference = 0;  // over the numeric outputs both answers have with the same shape
  bool comparable = false;        // false when the outputs differ in names, types or shapes
};
AnswerComparison compare_answers(const InferResponse& served, const InferResponse& shadow);

}  // namespace seraph
