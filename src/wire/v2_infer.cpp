#include "wire/v2_infer.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "wire/json_reader.h"
#include "wire/json_text.h"

namespace seraph {

// Binary tensor data is little-endian; tensors hold native bytes, copied as they are.
static_assert(std::endian::native == std::endian::little, "binary tensor data needs a little-endian host");

namespace {

namespace dom = simdjson::dom;

bool is_half(DataType type) { return type == DataType::kFp16 || type == DataType::kBf16; }

Status parse_parameters(JsonValue value, const std::string& where, Parameters& out) {
  dom::object object;
  if (value.get(object)) return invalid_argument(where + " must be an object");
  for (auto [key_view, v] : object) {
    std::string key(key_view);
    switch (v.type()) {
      case dom::element_type::BOOL: out.emplace_back(key, bool(v)); break;
      case dom::element_type::INT64: out.emplace_back(key, int64_t(v)); break;
      case dom::element_type::UINT64: out.emplace_back(key, static_cast<double>(uint64_t(v))); break;
      case dom::element_type::DOUBLE: out.emplace_back(key, double(v)); break;
      case dom::element_type::STRING: out.emplace_back(key, std::string(std::string_view(v))); break;
      default: return invalid_argument(fmt::format("{}.{} must be a boolean, number or string", where, key));
    }
  }
  return {};
}

// Removes parameter `key` from `params` and returns its value, if present (the last one, as JSON
// readers commonly do, should the object repeat the key).
std::optional<ParameterValue> take_parameter(Parameters& params, std::string_view key) {
  std::optional<ParameterValue> value;
  std::erase_if(params, [&](auto& p) {
    if (p.first != key) return false;
    value = std::move(p.second);
    return true;
  });
  return value;
}

// Splits a body into its JSON header, parsed into `doc` (an object), and its binary part.
Status parse_framed(std::string_view body, std::optional<size_t> json_header_length, std::string_view what,
                    JsonValue& doc, std::string_view& binary) {
  std::string_view json = body;
  if (json_header_length) {
    if (*json_header_length > body.size()) {
      return invalid_argument(fmt::format("{} is {} but the body has only {} bytes", kInferenceHeaderContentLength,
                                          *json_header_length, body.size()));
    }
    json = body.substr(0, *json_header_length);
    binary = body.substr(*json_header_length);
  }
  if (Status s = parse_json(json, doc); !s.is_ok()) return s;
  if (!doc.is_object()) return invalid_argument(fmt::format("the {} body must be a JSON object", what));
  return {};
}

// The binary part of a body, handed out to the binary tensors in order.
class BinaryPart {
 public:
  BinaryPart(std::string_view bytes, bool present) : rest_(bytes), present_(present) {}

  Status take(std::string_view role, const std::string& name, int64_t size, std::string_view& out) {
    if (!present_) {
      return invalid_argument(
          fmt::format("{} '{}' has binary_data_size but the body has no binary data: send the "
                      "JSON header's length in {}",
                      role, name, kInferenceHeaderContentLength));
    }
    if (static_cast<uint64_t>(size) > rest_.size()) {
      return invalid_argument(fmt::format("{} '{}': binary_data_size {} runs past the end of the body ({} bytes left)",
                                          role, name, size, rest_.size()));
    }
    out = rest_.substr(0, static_cast<size_t>(size));
    rest_.remove_prefix(static_cast<size_t>(size));
    return {};
  }

  // Every byte must belong to a tensor.
  Status finish() const {
    if (rest_.empty()) return {};
    return invalid_argument(fmt::format("{} bytes of binary data follow the last binary tensor", rest_.size()));
  }

 private:
  std::string_view rest_;
  bool present_;
};

uint32_t read_u32_le(const char* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Fills `tensor` (name, datatype and shape set) from its binary data.
Status read_binary_tensor(std::string_view bytes, int64_t count, std::string_view role, Tensor& tensor) {
  const auto where = [&] { return fmt::format("{} '{}'", role, tensor.name); };
  if (tensor.datatype == DataType::kBytes) {
    // Each element takes at least its 4-byte length: checked before reserving anything.
    if (static_cast<uint64_t>(count) > bytes.size() / 4) {
      return invalid_argument(
          fmt::format("{}: {} bytes of binary data cannot hold the {} BYTES elements shape {} needs", where(),
                      bytes.size(), count, shape_to_string(tensor.shape)));
    }
    tensor.strings.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      if (bytes.size() < 4) {
        return invalid_argument(fmt::format("{}: binary data ends inside the length of element {}", where(), i));
      }
      const uint32_t length = read_u32_le(bytes.data());
      bytes.remove_prefix(4);
      if (length > bytes.size()) {
        return invalid_argument(
            fmt::format("{}: element {} is {} bytes long but only {} bytes of its binary data are left", where(), i,
                        length, bytes.size()));
      }
      tensor.strings.emplace_back(bytes.substr(0, length));
      bytes.remove_prefix(length);
    }
    if (!bytes.empty()) {
      return invalid_argument(
          fmt::format("{}: {} bytes of binary data follow its {} BYTES elements", where(), bytes.size(), count));
    }
    return {};
  }
  const size_t element = datatype_size(tensor.datatype);
  if (static_cast<uint64_t>(count) > bytes.size() / element || static_cast<uint64_t>(count) * element != bytes.size()) {
    return invalid_argument(
        fmt::format("{}: binary_data_size is {} bytes but shape {} needs {} {} elements of {} bytes", where(),
                    bytes.size(), shape_to_string(tensor.shape), count, datatype_name(tensor.datatype), element));
  }
  if (tensor.datatype == DataType::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] != 0 && bytes[i] != 1) {
        return invalid_argument(fmt::format("{}: BOOL element {} is byte {}; binary BOOL elements are 0 or 1", where(),
                                            i, static_cast<unsigned char>(bytes[i])));
      }
    }
  }
  tensor.bytes.resize(bytes.size());
  if (!bytes.empty()) std::memcpy(tensor.bytes.data(), bytes.data(), bytes.size());
  return {};
}

// Reads one entry of a request's "inputs" or a response's "outputs": name, datatype, shape, and
// the elements, as JSON "data" or as binary data that "parameters.binary_data_size" announces.
Status parse_tensor(JsonValue entry, std::string_view role, size_t index, BinaryPart& binary, Tensor& tensor) {
  const std::string where = fmt::format("{}s[{}]", role, index);
  if (!entry.is_object()) return invalid_argument(where + " must be an object");
  std::string_view name;
  auto name_value = member(entry, "name");
  if (!name_value || name_value->get(name)) return invalid_argument(where + ".name must be a string");
  tensor.name = name;

  std::string_view type_name;
  auto datatype = member(entry, "datatype");
  if (!datatype || datatype->get(type_name)) {
    return invalid_argument(fmt::format("{} '{}': datatype must be a string", role, tensor.name));
  }
  auto type = parse_datatype(type_name);
  if (!type) return invalid_argument(fmt::format("{} '{}': unknown datatype '{}'", role, tensor.name, type_name));
  tensor.datatype = *type;

  dom::array shape;
  auto shape_value = member(entry, "shape");
  if (!shape_value || shape_value->get(shape)) {
    return invalid_argument(fmt::format("{} '{}': shape must be an array of integers", role, tensor.name));
  }
  for (JsonValue dim : shape) {
    int64_t d = 0;
    if (dim.get(d) || d < 0) {
      return invalid_argument(fmt::format("{} '{}': shape must hold non-negative integers", role, tensor.name));
    }
    tensor.shape.push_back(d);
  }
  auto count = element_count(tensor.shape);
  if (!count) {
    return invalid_argument(
        fmt::format("{} '{}': shape {} is too large", role, tensor.name, shape_to_string(tensor.shape)));
  }

  Parameters params;
  if (auto value = member(entry, "parameters")) {
    if (Status s = parse_parameters(*value, fmt::format("{} '{}': parameters", role, tensor.name), params);
        !s.is_ok()) {
      return s;
    }
  }
  auto data = member(entry, "data");
  if (auto size = take_parameter(params, "binary_data_size")) {
    const int64_t* bytes = std::get_if<int64_t>(&*size);
    if (!bytes || *bytes < 0) {
      return invalid_argument(
          fmt::format("{} '{}': binary_data_size must be a non-negative integer", role, tensor.name));
    }
    if (data) {
      return invalid_argument(fmt::format("{} '{}' has both data and binary_data_size; send one", role, tensor.name));
    }
    std::string_view mine;
    if (Status s = binary.take(role, tensor.name, *bytes, mine); !s.is_ok()) return s;
    return read_binary_tensor(mine, *count, role, tensor);
  }
  if (!data) return invalid_argument(fmt::format("{} '{}': data is required", role, tensor.name));
  if (is_half(tensor.datatype)) {
    return invalid_argument(
        fmt::format("{} '{}': datatype {} is not supported in JSON data; send FP32, or send it "
                    "as binary data",
                    role, tensor.name, type_name));
  }
  return read_tensor_data(*data, *count, tensor, role);
}

bool read_flag(const ParameterValue& value, bool& flag) {
  const bool* b = std::get_if<bool>(&value);
  if (b) flag = *b;
  return b != nullptr;
}

void write_parameter(JsonText& w, const ParameterValue& value) {
  std::visit(
      [&w](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>)
          w.Bool(v);
        else if constexpr (std::is_same_v<T, int64_t>)
          w.Int64(v);
        else if constexpr (std::is_same_v<T, double>)
          write_double(w, v);
        else
          write_string(w, v);
      },
      value);
}

void append_binary(const Tensor& t, std::string& tail) {
  if (t.datatype != DataType::kBytes) {
    tail.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    return;
  }
  for (const std::string& s : t.strings) {
    const auto length = static_cast<uint32_t>(s.size());
    char prefix[4];
    std::memcpy(prefix, &length, sizeof prefix);
    tail.append(prefix, sizeof prefix);
    tail.append(s);
  }
}

size_t binary_size(const Tensor& t) {
  if (t.datatype != DataType::kBytes) return t.bytes.size();
  size_t size = 0;
  for (const std::string& s : t.strings) size += 4 + s.size();
  return size;
}

// One entry of a request's "inputs" or a response's "outputs"; a binary one appends its bytes to `tail`.
void write_tensor(JsonText& w, const Tensor& t, bool binary, std::string& tail) {
  w.StartObject();
  write_v2_tensor_header(w, t.name, t.datatype, t.shape);
  if (binary) {
    write_key(w, "parameters");
    w.StartObject();
    write_key(w, "binary_data_size");
    w.Uint64(binary_size(t));
    w.EndObject();
    append_binary(t, tail);
  } else {
    write_key(w, "data");
    write_tensor_data(w, t);
  }
  w.EndObject();
}

// An array of tensor entries, binary where `wanted` says and for half floats (JSON has none).
// Returns whether any went as binary.
template <class Wanted>
bool write_tensors(JsonText& w, const std::vector<Tensor>& tensors, Wanted wanted, std::string& tail) {
  bool any_binary = false;
  w.StartArray();
  for (const Tensor& t : tensors) {
    const bool binary = is_half(t.datatype) || wanted(t);
    any_binary |= binary;
    write_tensor(w, t, binary, tail);
  }
  w.EndArray();
  return any_binary;
}

// A document's "outputs" array, its binary tensors' bytes in `binary`.
Status parse_outputs(JsonValue doc, BinaryPart& binary, std::vector<Tensor>& outputs) {
  dom::array array;
  auto value = member(doc, "outputs");
  if (!value || value->get(array)) return invalid_argument("outputs must be an array");
  outputs.reserve(array.size());
  size_t index = 0;
  for (JsonValue output : array) {
    if (Status s = parse_tensor(output, "output", index++, binary, outputs.emplace_back()); !s.is_ok()) return s;
  }
  return binary.finish();
}

// The JSON document followed by `tail`.
RenderedBody assemble(JsonText&& document, const std::string& tail, bool binary) {
  RenderedBody rendered;
  rendered.body = std::move(document).take();
  rendered.json_header_length = rendered.body.size();
  rendered.body += tail;
  rendered.binary = binary;
  return rendered;
}

}  // namespace

Status parse_json_header_length(std::string_view header_value, std::optional<size_t>& length) {
  length.reset();
  if (header_value.empty()) return {};
  size_t value = 0;
  auto [end, ec] = std::from_chars(header_value.data(), header_value.data() + header_value.size(), value);
  if (ec != std::errc() || end != header_value.data() + header_value.size()) {
    return invalid_argument(
        fmt::format("{} must be a whole number of bytes, got '{}'", kInferenceHeaderContentLength, header_value));
  }
  length = value;
  return {};
}

bool V2ResponseOptions::binary(std::string_view output) const {
  auto named = [output](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), output) != names.end();
  };
  if (named(binary_outputs)) return true;
  return all_binary && !named(json_outputs);
}

Status parse_v2_infer_request(std::string_view body, std::optional<size_t> json_header_length, InferRequest& request,
                              V2ResponseOptions& options) {
  JsonValue doc;
  std::string_view binary_bytes;
  if (Status s = parse_framed(body, json_header_length, "request", doc, binary_bytes); !s.is_ok()) return s;

  if (auto id = member(doc, "id")) {
    std::string_view text;
    if (id->get(text)) return invalid_argument("id must be a string");
    request.id = text;
  }
  if (auto params = member(doc, "parameters")) {
    if (Status s = parse_parameters(*params, "parameters", request.parameters); !s.is_ok()) return s;
    if (auto all = take_parameter(request.parameters, "binary_data_output");
        all && !read_flag(*all, options.all_binary)) {
      return invalid_argument("parameters.binary_data_output must be a boolean");
    }
  }
  dom::array inputs;
  auto inputs_value = member(doc, "inputs");
  if (!inputs_value || inputs_value->get(inputs)) return invalid_argument("inputs must be an array");
  if (inputs.size() == 0) return invalid_argument("inputs must not be empty");
  request.inputs.reserve(inputs.size());
  BinaryPart binary(binary_bytes, json_header_length.has_value());
  size_t index = 0;
  for (JsonValue input : inputs) {
    Tensor& tensor = request.inputs.emplace_back();
    if (Status s = parse_tensor(input, "input", index++, binary, tensor); !s.is_ok()) return s;
    for (size_t j = 0; j + 1 < request.inputs.size(); ++j) {
      if (request.inputs[j].name == tensor.name)
        return invalid_argument(fmt::format("input '{}' appears twice", tensor.name));
    }
  }
  if (Status s = binary.finish(); !s.is_ok()) return s;
  if (auto outputs_value = member(doc, "outputs")) {
    dom::array outputs;
    if (outputs_value->get(outputs)) return invalid_argument("outputs must be an array");
    size_t i = 0;
    for (JsonValue out : outputs) {
      std::string_view name;
      if (!out.is_object()) return invalid_argument(fmt::format("outputs[{}] must be an object", i));
      auto name_value = member(out, "name");
      if (!name_value || name_value->get(name))
        return invalid_argument(fmt::format("outputs[{}].name must be a string", i));
      if (auto params = member(out, "parameters")) {
        Parameters output_params;
        if (Status s = parse_parameters(*params, fmt::format("outputs[{}].parameters", i), output_params); !s.is_ok()) {
          return s;
        }
        bool binary_data = false;
        if (auto flag = take_parameter(output_params, "binary_data")) {
          if (!read_flag(*flag, binary_data)) {
            return invalid_argument(fmt::format("outputs[{}].parameters.binary_data must be a boolean", i));
          }
          (binary_data ? options.binary_outputs : options.json_outputs).emplace_back(name);
        }
      }
      request.requested_outputs.emplace_back(name);
      ++i;
    }
  }
  return {};
}

Status parse_v2_infer_request(std::string_view body, InferRequest& request) {
  V2ResponseOptions ignored;
  return parse_v2_infer_request(body, std::nullopt, request, ignored);
}

RenderedBody render_v2_infer_response(const InferResponse& response, const V2ResponseOptions& options,
                                      const ServedBy& served_by) {
  JsonText w;
  w.StartObject();
  write_key(w, "model_name");
  write_string(w, response.model);
  write_key(w, "model_version");
  write_string(w, std::to_string(response.version));
  if (!response.id.empty()) {
    write_key(w, "id");
    write_string(w, response.id);
  }
  if (!served_by.deployment.empty()) {
    write_key(w, "parameters");
    w.StartObject();
    write_served_by(w, served_by);
    w.EndObject();
  }
  write_key(w, "outputs");
  std::string tail;
  const bool any_binary = write_tensors(
      w, response.outputs, [&](const Tensor& t) { return options.binary(t.name); }, tail);
  w.EndObject();
  return assemble(std::move(w), tail, any_binary);
}

std::string render_v2_infer_response(const InferResponse& response, const ServedBy& served_by) {
  return render_v2_infer_response(response, V2ResponseOptions{}, served_by).body;
}

RenderedBody render_v2_infer_request(const InferRequest& request, const V2RequestOptions& options) {
  JsonText w;
  w.StartObject();
  if (!request.id.empty()) {
    write_key(w, "id");
    write_string(w, request.id);
  }
  if (!request.parameters.empty() || options.binary_outputs) {
    write_key(w, "parameters");
    w.StartObject();
    for (const auto& [key, value] : request.parameters) {
      write_text_key(w, key);
      write_parameter(w, value);
    }
    if (options.binary_outputs) {
      write_key(w, "binary_data_output");
      w.Bool(true);
    }
    w.EndObject();
  }
  write_key(w, "inputs");
  std::string tail;
  const bool any_binary = write_tensors(
      w, request.inputs, [&](const Tensor&) { return options.binary_inputs; }, tail);
  if (!request.requested_outputs.empty()) {
    write_key(w, "outputs");
    w.StartArray();
    for (const std::string& name : request.requested_outputs) {
      w.StartObject();
      write_key(w, "name");
      write_string(w, name);
      write_key(w, "parameters");
      w.StartObject();
      write_key(w, "binary_data");
      w.Bool(options.binary_outputs);
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return assemble(std::move(w), tail, any_binary);
}

Status parse_v2_infer_response(std::string_view body, std::optional<size_t> json_header_length,
                               InferResponse& response) {
  JsonValue doc;
  std::string_view binary_bytes;
  if (Status s = parse_framed(body, json_header_length, "response", doc, binary_bytes); !s.is_ok()) return s;

  std::string_view text;
  auto model = member(doc, "model_name");
  if (!model || model->get(text)) return invalid_argument("model_name must be a string");
  response.model = text;
  if (auto version = member(doc, "model_version")) {
    if (version->get(text)) return invalid_argument("model_version must be a string");
    int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return invalid_argument(fmt::format("model_version must be a whole number, got '{}'", text));
    }
    response.version = number;
  }
  if (auto id = member(doc, "id")) {
    if (id->get(text)) return invalid_argument("id must be a string");
    response.id = text;
  }
  BinaryPart binary(binary_bytes, json_header_length.has_value());
  return parse_outputs(doc, binary, response.outputs);
}

Status parse_v2_outputs(std::string_view json, std::vector<Tensor>& outputs) {
  JsonValue doc;
  std::string_view no_binary;
  if (Status s = parse_framed(json, std::nullopt, "answer", doc, no_binary); !s.is_ok()) return s;
  BinaryPart binary(no_binary, false);
  return parse_outputs(doc, binary, outputs);
}

}  // namespace seraph
