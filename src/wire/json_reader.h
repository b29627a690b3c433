#pragma once
// Reading untrusted JSON with simdjson: numbers parsed exactly (RapidJSON 1.1's full-precision
// mode crashes on crafted numbers, its default mode is off by an ulp), UTF-8 validated, depth
// bounded, no recursion on our side; and conversion of (possibly nested) arrays into typed tensor
// data with range checks.
#include <string_view>

#include <simdjson.h>

#include "core/status.h"
#include "core/tensor.h"

namespace seraph {

using JsonValue = simdjson::dom::element;

// Parses `body` with this thread's parser. `root` stays valid until the thread parses again.
Status parse_json(std::string_view body, JsonValue& root);

// Fills `tensor` (whose name, datatype and shape are set) from `data`: a flat or nested array of
// exactly `count` elements of the tensor's datatype. Out-of-range numbers are rejected. Messages
// name the tensor as "<role> '<name>'".
Status read_tensor_data(JsonValue data, int64_t count, Tensor& tensor, std::string_view role = "input");

// Member `key` of an object, or nullopt when absent (or `object` is not an object).
std::optional<JsonValue> member(JsonValue object, std::string_view key);

}  // namespace seraph
