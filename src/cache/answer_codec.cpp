#include "cache/answer_codec.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace seraph {
namespace {

// Tensor bytes are copied as they lie in memory, which is the format's byte order on this host only.
static_assert(std::endian::native == std::endian::little, "the answer format copies little-endian tensor bytes");

constexpr std::string_view kMagic = "SRCA";
constexpr uint8_t kFormatVersion = 1;
// No model has tensors of more dimensions; a larger rank is a corrupt or hostile input.
constexpr uint32_t kMaxRank = 64;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void raw(const void* data, size_t size) { out_.append(static_cast<const char*>(data), size); }
  template <class T>
  void number(T value) {
    raw(&value, sizeof value);
  }
  Status text(std::string_view value, std::string_view what) {
    if (value.size() > std::numeric_limits<uint32_t>::max()) {
      return invalid_argument(
          fmt::format("cached answer: {} is {} bytes, more than the format holds", what, value.size()));
    }
    number<uint32_t>(static_cast<uint32_t>(value.size()));
    raw(value.data(), value.size());
    return {};
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  size_t left() const { return rest_.size(); }

  template <class T>
  Status number(T& value, std::string_view what) {
    if (rest_.size() < sizeof value) return truncated(what);
    std::memcpy(&value, rest_.data(), sizeof value);
    rest_.remove_prefix(sizeof value);
    return {};
  }
  Status raw(size_t size, std::string_view& out, std::string_view what) {
    if (rest_.size() < size) return truncated(what);
    out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return {};
  }
  Status text(std::string& value, std::string_view what) {
    uint32_t size = 0;
    if (Status s = number(size, what); !s.is_ok()) return s;
    std::string_view bytes;
    if (Status s = raw(size, bytes, what); !s.is_ok()) return s;
    value.assign(bytes);
    return {};
  }

 private:
  static Status truncated(std::string_view what) {
    return invalid_argument(fmt::format("cached answer: truncated in {}", what));
  }
  std::string_view rest_;
};

Status encode_tensor(Writer& w, const Tensor& tensor) {
  if (Status s = w.text(tensor.name, "an output name"); !s.is_ok()) return s;
  w.number<uint8_t>(static_cast<uint8_t>(tensor.datatype));
  w.number<uint32_t>(static_cast<uint32_t>(tensor.shape.size()));
  for (int64_t dim : tensor.shape) w.number<int64_t>(dim);
  if (tensor.datatype == DataType::kBytes) {
    w.number<uint64_t>(tensor.strings.size());
    for (const std::string& element : tensor.strings) {
      if (Status s = w.text(element, fmt::format("an element of output '{}'", tensor.name)); !s.is_ok()) return s;
    }
  } else {
    w.number<uint64_t>(tensor.bytes.size());
    w.raw(tensor.bytes.data(), tensor.bytes.size());
  }
  return {};
}

Status decode_tensor(Reader& r, size_t index, Tensor& tensor) {
  if (Status s = r.text(tensor.name, "an output name"); !s.is_ok()) return s;
  auto where = [&] { return fmt::format("cached answer: output {} ('{}')", index, tensor.name); };

  uint8_t type = 0;
  if (Status s = r.number(type, "a datatype"); !s.is_ok()) return s;
  if (type > static_cast<uint8_t>(DataType::kBytes))
    return invalid_argument(fmt::format("{}: unknown datatype {}", where(), type));
  tensor.datatype = static_cast<DataType>(type);

  uint32_t rank = 0;
  if (Status s = r.number(rank, "a rank"); !s.is_ok()) return s;
  if (rank > kMaxRank) return invalid_argument(fmt::format("{}: rank {} is more than {}", where(), rank, kMaxRank));
  tensor.shape.resize(rank);
  for (int64_t& dim : tensor.shape) {
    if (Status s = r.number(dim, "a shape"); !s.is_ok()) return s;
  }
  std::optional<int64_t> elements = element_count(tensor.shape);
  if (!elements) return invalid_argument(fmt::format("{}: invalid shape {}", where(), shape_to_string(tensor.shape)));

  uint64_t size = 0;
  if (tensor.datatype == DataType::kBytes) {
    if (Status s = r.number(size, "an element count"); !s.is_ok()) return s;
    if (size != static_cast<uint64_t>(*elements)) {
      return invalid_argument(
          fmt::format("{}: {} elements for shape {}", where(), size, shape_to_string(tensor.shape)));
    }
    // Each element takes at least its 4-byte length: a count the bytes left cannot hold is refused.
    // Elements are added as they are read, so memory follows the bytes actually there.
    if (size > r.left() / sizeof(uint32_t))
      return invalid_argument(fmt::format("{}: truncated in its elements", where()));
    for (uint64_t i = 0; i < size; ++i) {
      if (Status s = r.text(tensor.strings.emplace_back(), "a BYTES element"); !s.is_ok()) return s;
    }
    return {};
  }
  if (Status s = r.number(size, "a data length"); !s.is_ok()) return s;
  const uint64_t element_size = datatype_size(tensor.datatype);
  if (size % element_size != 0 || size / element_size != static_cast<uint64_t>(*elements)) {
    return invalid_argument(fmt::format("{}: {} bytes of data for shape {} of {}", where(), size,
                                        shape_to_string(tensor.shape), datatype_name(tensor.datatype)));
  }
  std::string_view data;
  if (Status s = r.raw(size, data, "tensor data"); !s.is_ok()) return s;
  if (tensor.datatype == DataType::kBool) {
    for (char c : data) {
      if (c != 0 && c != 1) return invalid_argument(fmt::format("{}: a BOOL element is neither 0 nor 1", where()));
    }
  }
  tensor.bytes.resize(size);
  if (size > 0) std::memcpy(tensor.bytes.data(), data.data(), size);
  return {};
}

}  // namespace

Status encode_answer(const InferResponse& response, std::string& out, size_t max_bytes) {
  out.clear();
  Writer w(out);
  w.raw(kMagic.data(), kMagic.size());
  w.number<uint8_t>(kFormatVersion);
  if (Status s = w.text(response.model, "the model name"); !s.is_ok()) return s;
  w.number<int64_t>(response.version);
  if (Status s = w.text(response.id, "the id"); !s.is_ok()) return s;
  w.number<uint64_t>(std::bit_cast<uint64_t>(response.compute_ms));
  if (response.outputs.size() > std::numeric_limits<uint32_t>::max()) {
    return invalid_argument("cached answer: more outputs than the format holds");
  }
  w.number<uint32_t>(static_cast<uint32_t>(response.outputs.size()));
  for (const Tensor& output : response.outputs) {
    if (Status s = encode_tensor(w, output); !s.is_ok()) return s;
  }
  if (out.size() > max_bytes) {
    return invalid_argument(
        fmt::format("cached answer: {} bytes encoded, more than the {} allowed", out.size(), max_bytes));
  }
  return {};
}

Status decode_answer(std::string_view bytes, InferResponse& out, size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return invalid_argument(fmt::format("cached answer: {} bytes, more than the {} allowed", bytes.size(), max_bytes));
  }
  Reader r(bytes);
  std::string_view magic;
  if (Status s = r.raw(kMagic.size(), magic, "the magic"); !s.is_ok()) return s;
  if (magic != kMagic) return invalid_argument("cached answer: not in Seraph's answer format");
  uint8_t format_version = 0;
  if (Status s = r.number(format_version, "the format version"); !s.is_ok()) return s;
  if (format_version != kFormatVersion) {
    return invalid_argument(
        fmt::format("cached answer: format version {}, this server reads {}", format_version, kFormatVersion));
  }
  InferResponse response;
  if (Status s = r.text(response.model, "the model name"); !s.is_ok()) return s;
  if (Status s = r.number(response.version, "the version"); !s.is_ok()) return s;
  if (Status s = r.text(response.id, "the id"); !s.is_ok()) return s;
  uint64_t compute_ms_bits = 0;
  if (Status s = r.number(compute_ms_bits, "the compute time"); !s.is_ok()) return s;
  response.compute_ms = std::bit_cast<double>(compute_ms_bits);
  uint32_t outputs = 0;
  if (Status s = r.number(outputs, "the output count"); !s.is_ok()) return s;
  // The smallest output (empty name, rank 0, a length) takes 17 bytes: refuse counts the rest cannot hold.
  constexpr size_t kSmallestOutput = sizeof(uint32_t) + 1 + sizeof(uint32_t) + sizeof(uint64_t);
  if (outputs > r.left() / kSmallestOutput) return invalid_argument("cached answer: truncated in its outputs");
  for (size_t i = 0; i < outputs; ++i) {
    if (Status s = decode_tensor(r, i, response.outputs.emplace_back()); !s.is_ok()) return s;
  }
  if (r.left() != 0) return invalid_argument(fmt::format("cached answer: {} bytes after the last output", r.left()));
  out = std::move(response);
  return {};
}

}  // namespace seraph
