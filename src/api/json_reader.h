#pragma once
// Reading untrusted JSON: parsing that cannot overflow the stack and rejects invalid UTF-8, and
// conversion of (possibly nested) JSON arrays into typed tensor data with range checks.
#include <string_view>

#include <rapidjson/document.h>

#include "core/status.h"
#include "core/tensor.h"

namespace seraph {

Status parse_json(std::string_view body, rapidjson::Document& doc);

// Fills `tensor` (whose name, datatype and shape are set) from `data`: a flat or nested array of
// exactly `count` elements of the tensor's datatype. Out-of-range numbers are rejected.
Status read_tensor_data(const rapidjson::Value& data, int64_t count, Tensor& tensor);

}  // namespace seraph
