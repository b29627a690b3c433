#include "control/answer_comparison.h"

#include <cmath>

namespace seraph {
namespace {

// Element i of a numeric tensor as a double.
double element(const Tensor& t, int64_t i) {
  switch (t.datatype) {
    case DataType::kBool: return static_cast<double>(t.values<uint8_t>()[i]);
    case DataType::kUint8: return t.values<uint8_t>()[i];
    case DataType::kUint16: return t.values<uint16_t>()[i];
    case DataType::kUint32: return t.values<uint32_t>()[i];
    case DataType::kUint64: return static_cast<double>(t.values<uint64_t>()[i]);
    case DataType::kInt8: return t.values<int8_t>()[i];
    case DataType::kInt16: return t.values<int16_t>()[i];
    case DataType::kInt32: return t.values<int32_t>()[i];
    case DataType::kInt64: return static_cast<double>(t.values<int64_t>()[i]);
    case DataType::kFp32: return t.values<float>()[i];
    case DataType::kFp64: return t.values<double>()[i];
    default: return 0;  // FP16, BF16 never reach answers; BYTES is compared as labels
  }
}

}  // namespace

std::string top_label(const InferResponse& response) {
  if (response.outputs.empty()) return {};
  const Tensor& t = response.outputs.front();
  if (t.datatype == DataType::kBytes) return t.strings.empty() ? std::string() : t.strings.front();
  const int64_t n = t.size();
  if (n == 0) return {};
  const int64_t row = t.shape.size() >= 2 && t.shape.front() > 0 ? n / t.shape.front() : n;
  int64_t best = 0;
  for (int64_t i = 1; i < row; ++i) {
    if (element(t, i) > element(t, best)) best = i;
  }
  return std::to_string(best);
}

AnswerComparison compare_answers(const InferResponse& served, const InferResponse& shadow) {
  AnswerComparison result;
  result.same_top_label = top_label(served) == top_label(shadow);
  if (served.outputs.size() != shadow.outputs.size()) return result;
  for (size_t o = 0; o < served.outputs.size(); ++o) {
    const Tensor& a = served.outputs[o];
    const Tensor& b = shadow.outputs[o];
    if (a.name != b.name || a.datatype != b.datatype || a.shape != b.shape || a.size() != b.size()) return result;
    if (a.datatype == DataType::kBytes) continue;
    for (int64_t i = 0; i < a.size(); ++i) {
      result.max_abs_difference = std::max(result.max_abs_difference, std::fabs(element(a, i) - element(b, i)));
    }
  }
  result.comparable = true;
  return result;
}

}  // namespace seraph
