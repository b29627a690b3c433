#pragma once
// KServe Open Inference Protocol V2 over REST, the inference messages in both directions: as a
// server (parse requests, render responses) and as a client of another V2 server (render requests,
// parse responses).
//
// A body is JSON, or, with Triton's binary tensor data extension, a JSON header followed by raw
// tensor bytes: the Inference-Header-Content-Length header gives the JSON header's length, and each
// binary tensor's "parameters.binary_data_size" its share of the bytes, in tensor order. Binary data
// is little-endian, row-major; BOOL is one byte (0 or 1); a BYTES element is a 4-byte
// little-endian length followed by that many bytes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/inference.h"
#include "core/status.h"
#include "core/tensor.h"
#include "wire/json_writer.h"

namespace seraph {

// The HTTP header that gives the JSON header's length when binary tensor data follows it.
inline constexpr std::string_view kInferenceHeaderContentLength = "Inference-Header-Content-Length";
// The Content-Type of a body that carries binary tensor data (what Triton sends and expects).
inline constexpr std::string_view kBinaryTensorContentType = "application/octet-stream";

// Reads the Inference-Header-Content-Length value: nullopt when the header is absent (empty value,
// the whole body is JSON), the length otherwise; anything but a decimal number is a 400.
Status parse_json_header_length(std::string_view header_value, std::optional<size_t>& length);

// Which outputs the client wants as binary data: "parameters.binary_data_output" on the request
// sets the default for all, "parameters.binary_data" on a requested output overrides it.
struct V2ResponseOptions {
  bool all_binary = false;
  std::vector<std::string> binary_outputs;  // binary_data: true
  std::vector<std::string> json_outputs;    // binary_data: false
  bool binary(std::string_view output) const;
};

// A rendered body: the JSON header, then any binary tensor data.
struct RenderedBody {
  std::string body;
  size_t json_header_length = 0;  // == body.size() when no binary data follows
  bool binary = false;            // some tensor went as binary data (even of zero bytes)
};

// --- Server side ---

// Parses an inference request. `json_header_length` is the Inference-Header-Content-Length value
// (nullopt: the body is all JSON). `request.model` and `request.version` come from the URL and are
// left untouched; the binary_data_output request parameter goes to `options`, not to
// `request.parameters`. FP16 and BF16 inputs must come as binary data (JSON has no half floats).
Status parse_v2_infer_request(std::string_view body, std::optional<size_t> json_header_length, InferRequest& request,
                              V2ResponseOptions& options);
// The same for an all-JSON body whose output options do not matter (every output as JSON).
Status parse_v2_infer_request(std::string_view body, InferRequest& request);

// Renders an inference response, outputs as binary data where `options` asks (and FP16/BF16 ones
// always). With `served_by` set, "parameters" says which deployment, environment and variant answered.
RenderedBody render_v2_infer_response(const InferResponse& response, const V2ResponseOptions& options,
                                      const ServedBy& served_by = {});
// The same with every output as JSON: the body is the JSON document.
std::string render_v2_infer_response(const InferResponse& response, const ServedBy& served_by = {});

// --- Client side (calling another V2 server) ---

struct V2RequestOptions {
  bool binary_inputs = true;   // send inputs as binary data (FP16/BF16 ones always are)
  bool binary_outputs = true;  // ask for every output as binary data
};

// Renders `request` (id, parameters, inputs, requested outputs; the model and version go in the URL).
RenderedBody render_v2_infer_request(const InferRequest& request, const V2RequestOptions& options = {});
// Parses a successful (200) inference response; `json_header_length` as for requests.
Status parse_v2_infer_response(std::string_view body, std::optional<size_t> json_header_length,
                               InferResponse& response);
// The V2 output tensors of a JSON object {"outputs": [...]} (other members are ignored), such as a
// deployment's configured default answer.
Status parse_v2_outputs(std::string_view json, std::vector<Tensor>& outputs);

// "name", "datatype" and "shape": what V2 tensor metadata, inputs and outputs have in common.
template <class Writer>
void write_v2_tensor_header(Writer& w, std::string_view name, DataType datatype, const Shape& shape) {
  write_key(w, "name");
  write_string(w, name);
  write_key(w, "datatype");
  write_string(w, datatype_name(datatype));
  write_key(w, "shape");
  w.StartArray();
  for (int64_t d : shape) w.Int64(d);
  w.EndArray();
}

}  // namespace seraph
