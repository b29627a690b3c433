#include "api/predict_adapter.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "api/json_writer.h"
#include "core/thousandths.h"
#include "wire/json_reader.h"
#include "wire/json_text.h"

namespace seraph {
namespace {

namespace dom = simdjson::dom;

enum class Kind { kNone, kText, kFeatures, kInstances };

Kind kind_of(JsonValue item) {
  if (!item.is_object()) return Kind::kNone;
  if (member(item, "text")) return Kind::kText;
  if (member(item, "features")) return Kind::kFeatures;
  if (member(item, "instances")) return Kind::kInstances;
  return Kind::kNone;
}

constexpr std::string_view kShapeHelp =
    R"(the body needs one of {"text": "..."}, {"features": [numbers]} or {"instances": [[numbers], ...]})";

// Appends the rows of one /predict object to `tensor` (BYTES for text, FP32 [rows, width] otherwise).
Status append_rows(JsonValue item, Kind kind, Tensor& tensor, std::string_view where) {
  if (kind == Kind::kText) {
    std::string_view text;
    if (member(item, "text")->get(text)) return invalid_argument(fmt::format("{}text must be a string", where));
    tensor.strings.emplace_back(text);
    tensor.shape = {static_cast<int64_t>(tensor.strings.size())};
    return {};
  }
  const std::string field = kind == Kind::kFeatures ? "features" : "instances";
  const JsonValue rows_value = *member(item, field);
  dom::array rows;
  if (rows_value.get(rows) || rows.size() == 0) {
    return invalid_argument(fmt::format("{}{} must be a non-empty array", where, field));
  }
  auto add_row = [&](JsonValue row_value, std::string_view row_where) -> Status {
    dom::array row;
    if (row_value.get(row) || row.size() == 0) {
      return invalid_argument(fmt::format("{} must be a non-empty array of numbers", row_where));
    }
    const int64_t width = static_cast<int64_t>(row.size());
    if (tensor.shape.size() == 2 && tensor.shape[1] != width) {
      return invalid_argument(fmt::format("{} has {} features, earlier rows have {}", row_where, width, tensor.shape[1]));
    }
    Tensor one{"", DataType::kFp32, {1, width}, {}, {}};
    if (Status s = read_tensor_data(row_value, width, one); !s.is_ok()) {
      return invalid_argument(fmt::format("{}: every feature must be a finite number within FP32 range", row_where));
    }
    tensor.bytes.insert(tensor.bytes.end(), one.bytes.begin(), one.bytes.end());
    tensor.shape = {tensor.shape.empty() ? 1 : tensor.shape[0] + 1, width};
    return {};
  };
  if (kind == Kind::kFeatures) return add_row(rows_value, fmt::format("{}features", where));
  size_t i = 0;
  for (JsonValue row : rows) {
    if (Status s = add_row(row, fmt::format("{}instances[{}]", where, i++)); !s.is_ok()) return s;
  }
  return {};
}

Tensor empty_input(Kind kind) {
  return Tensor{"", kind == Kind::kText ? DataType::kBytes : DataType::kFp32, {}, {}, {}};
}

}  // namespace

Status parse_predict_body(std::string_view body, PredictRequest& out) {
  JsonValue doc;
  if (Status s = parse_json(body, doc); !s.is_ok()) return s;
  Kind kind = kind_of(doc);
  if (kind == Kind::kNone) return invalid_argument(std::string(kShapeHelp));
  Tensor input = empty_input(kind);
  if (Status s = append_rows(doc, kind, input, ""); !s.is_ok()) return s;
  out.many = kind == Kind::kInstances;
  out.request.inputs.push_back(std::move(input));
  out.request.positional_inputs = true;
  return {};
}

Status parse_predict_batch_body(std::string_view body, PredictRequest& out) {
  JsonValue doc;
  if (Status s = parse_json(body, doc); !s.is_ok()) return s;
  dom::array items;
  if (doc.get(items)) return invalid_argument(R"(the body must be a JSON array of /predict objects, e.g. [{"text": "..."}])");
  if (items.size() == 0) return invalid_argument("empty batch: the array holds no items");
  const Kind kind = kind_of(items.at(0));
  Tensor input = empty_input(kind);
  size_t i = 0;
  for (JsonValue item : items) {
    const std::string where = fmt::format("[{}].", i);
    Kind item_kind = kind_of(item);
    if (item_kind == Kind::kNone) return invalid_argument(fmt::format("[{}]: {}", i, kShapeHelp));
    if (item_kind == Kind::kInstances) return invalid_argument(fmt::format("[{}]: use features, not instances, in a batch", i));
    if (item_kind != kind) return invalid_argument(fmt::format("[{}]: every item must be of the same kind as item 0", i));
    if (Status s = append_rows(item, kind, input, where); !s.is_ok()) return s;
    ++i;
  }
  out.many = true;
  out.request.inputs.push_back(std::move(input));
  out.request.positional_inputs = true;
  return {};
}

namespace {

// Room for a one-row answer with its served-by fields, and for the worst case of escaping the
// request id at its end; a larger answer grows the string as it goes.
constexpr size_t kTypicalAnswerBytes = 512;

// Writes one row's prediction as object members: "label" and "scores" for classifiers, "value"
// for single-output regressors, a "scores" list otherwise.
void write_prediction_fields(JsonText& w, const InferResponse& response, const ModelConfig& config, int64_t row) {
  const Tensor* labels = nullptr;
  const Tensor* scores = nullptr;
  for (const Tensor& t : response.outputs) {
    if (t.datatype == DataType::kBytes && !labels) labels = &t;
    if (t.datatype == DataType::kFp32 && !scores) scores = &t;
  }
  if (!scores || scores->shape.empty()) return;
  const int64_t columns = scores->shape.size() > 1 ? scores->shape[1] : 1;
  auto values = scores->values<float>().subspan(row * columns, columns);
  auto write_labelled = [&](auto label_of, int64_t best) {
    write_key(w, "label");
    write_string(w, label_of(best));
    write_key(w, "scores");
    w.StartObject();
    for (int64_t c = 0; c < columns; ++c) {
      write_text_key(w, label_of(c));
      write_float(w, values[c]);
    }
    w.EndObject();
  };
  if (labels && labels->shape.size() == 2 && labels->shape[1] == columns) {
    // Labels paired with scores, best first (fastText).
    write_labelled([&](int64_t c) -> const std::string& { return labels->strings[row * columns + c]; }, 0);
  } else if (static_cast<int64_t>(config.labels.size()) == columns && columns > 1) {
    const int64_t best = std::max_element(values.begin(), values.end()) - values.begin();
    write_labelled([&](int64_t c) -> const std::string& { return config.labels[c]; }, best);
  } else if (columns == 1) {
    write_key(w, "value");
    write_float(w, values[0]);
  } else {
    write_key(w, "scores");
    w.StartArray();
    for (float v : values) write_float(w, v);
    w.EndArray();
  }
}

}  // namespace

std::string render_predict_response(const InferResponse& response, const ModelConfig& config,
                                    const PredictAnswerContext& context) {
  JsonText w({}, kTypicalAnswerBytes);
  w.StartObject();
  if (context.many) {
    const int64_t rows = response.outputs.empty() || response.outputs[0].shape.empty() ? 0 : response.outputs[0].shape[0];
    write_key(w, "predictions");
    w.StartArray();
    for (int64_t row = 0; row < rows; ++row) {
      w.StartObject();
      write_prediction_fields(w, response, config, row);
      w.EndObject();
    }
    w.EndArray();
  } else {
    write_prediction_fields(w, response, config, 0);
  }
  write_key(w, "model");
  write_string(w, response.model);
  write_key(w, "model_version");
  w.Int64(response.version);
  if (!context.served_by.deployment.empty()) write_served_by(w, context.served_by);
  write_key(w, "request_id");
  write_string(w, context.request_id);
  write_key(w, "latency_ms");
  char latency[32];
  if (const size_t size = format_thousandths_shortest(context.latency_ms, latency)) {
    w.RawValue(latency, size, rapidjson::kNumberType);
  } else {
    write_double(w, std::round(context.latency_ms * 1000) / 1000);
  }
  w.EndObject();
  return std::move(w).take();
}

}  // namespace seraph
