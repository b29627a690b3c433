#include "cache/cache_key.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <type_traits>
#include <variant>
#include <vector>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t's layout, so the state lives on the stack
#include <xxhash.h>

namespace seraph {
namespace {

// Tensor bytes are hashed as they lie in memory; the key must not depend on the host.
static_assert(std::endian::native == std::endian::little, "cache keys hash little-endian tensor bytes");

// Bumped whenever the serialization below changes, so old and new keys never meet (in a shared store).
constexpr std::string_view kKeyFormat = "seraph.cache_key.v1";

// Feeds XXH3-128 an unambiguous serialization: every variable-length field is preceded by its
// length, every choice by a tag, so no two different requests produce the same byte stream.
// Fields gather in a buffer that is hashed in one call when the request fits (the common case);
// only larger requests stream, where many small updates would cost more than the hashing.
// Streaming and one-shot XXH3 give the same hash for the same bytes, so the path taken never shows.
class KeyHasher {
 public:
  void raw(const void* data, size_t size) {
    if (size <= buffer_.size() - used_) {
      if (size > 0) std::memcpy(buffer_.data() + used_, data, size);
      used_ += size;
      return;
    }
    flush();
    if (size >= buffer_.size()) {
      XXH3_128bits_update(&state_, data, size);
    } else {
      std::memcpy(buffer_.data(), data, size);
      used_ = size;
    }
  }
  void u64(uint64_t value) { raw(&value, sizeof value); }
  void i64(int64_t value) { raw(&value, sizeof value); }
  void u8(uint8_t value) { raw(&value, 1); }
  void text(std::string_view value) {
    u64(value.size());
    raw(value.data(), value.size());
  }

  CacheKey digest() {
    XXH128_hash_t hash;
    if (streaming_) {
      flush();
      hash = XXH3_128bits_digest(&state_);
    } else {
      hash = XXH3_128bits(buffer_.data(), used_);
    }
    return {hash.high64, hash.low64};
  }

 private:
  void flush() {
    if (!streaming_) {
      XXH3_INITSTATE(&state_);
      XXH3_128bits_reset(&state_);
      streaming_ = true;
    }
    XXH3_128bits_update(&state_, buffer_.data(), used_);
    used_ = 0;
  }

  std::array<unsigned char, 1024> buffer_;
  size_t used_ = 0;
  bool streaming_ = false;
  XXH3_state_t state_;  // set up only once the request outgrows the buffer
};

void hash_tensor(KeyHasher& h, const Tensor& tensor) {
  h.text(tensor.name);
  h.u8(static_cast<uint8_t>(tensor.datatype));
  h.u64(tensor.shape.size());
  for (int64_t dim : tensor.shape) h.i64(dim);
  if (tensor.datatype == DataType::kBytes) {
    h.u64(tensor.strings.size());
    for (const std::string& element : tensor.strings) h.text(element);
  } else {
    h.u64(tensor.bytes.size());
    h.raw(tensor.bytes.data(), tensor.bytes.size());
  }
}

void hash_parameter_value(KeyHasher& h, const ParameterValue& value) {
  // The variant's index is the type tag: true, 1 and "1" are different parameters.
  h.u8(static_cast<uint8_t>(value.index()));
  std::visit(
      [&h](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          h.u8(v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          h.i64(v);
        } else if constexpr (std::is_same_v<T, double>) {
          h.u64(std::bit_cast<uint64_t>(v));
        } else {
          h.text(v);
        }
      },
      value);
}

// Sorts pointers rather than copies: the data is hashed where it lies. Requests have a handful of
// inputs, so the vectors are small.
template <class T, class Less>
std::vector<const T*> sorted_view(const std::vector<T>& items, Less less) {
  std::vector<const T*> view;
  view.reserve(items.size());
  for (const T& item : items) view.push_back(&item);
  // Stable: a parameter repeated under one name keeps its order (readers take the last one).
  std::stable_sort(view.begin(), view.end(), [&less](const T* a, const T* b) { return less(*a, *b); });
  return view;
}

}  // namespace

std::string CacheKey::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[i] = kDigits[(high >> (60 - 4 * i)) & 0xF];
    out[16 + i] = kDigits[(low >> (60 - 4 * i)) & 0xF];
  }
  return out;
}

bool is_answer_neutral_parameter(std::string_view name) {
  static constexpr std::array<std::string_view, 4> kNeutral = {"timeout", "priority", "binary_data_output",
                                                               "binary_data"};
  return std::find(kNeutral.begin(), kNeutral.end(), name) != kNeutral.end();
}

CacheKey cache_key(std::string_view deployment, std::string_view model, int64_t version, const InferRequest& request,
                   std::string_view tenant) {
  KeyHasher h;
  h.text(kKeyFormat);
  h.text(deployment);
  h.text(model);
  h.i64(version);
  h.text(tenant);

  h.u8(request.positional_inputs ? 1 : 0);
  h.u64(request.inputs.size());
  if (request.inputs.size() == 1) {
    hash_tensor(h, request.inputs.front());  // the common case, without a sorted copy
  } else {
    for (const Tensor* input :
         sorted_view(request.inputs, [](const Tensor&a, const Tensor&b) { return a.name < b.name; })) {
      hash_tensor(h, *input);
    }
  }

  h.u64(request.requested_outputs.size());
  for (const std::string* output : sorted_view(request.requested_outputs, std::less<std::string>())) h.text(*output);

  std::vector<const std::pair<std::string, ParameterValue>*> parameters;
  for (const auto& parameter : request.parameters) {
    if (!is_answer_neutral_parameter(parameter.first)) parameters.push_back(&parameter);
  }
  std::stable_sort(parameters.begin(), parameters.end(),
                   [](const auto* a, const auto* b) { return a->first < b->first; });
  h.u64(parameters.size());
  for (const auto* parameter : parameters) {
    h.text(parameter->first);
    hash_parameter_value(h, parameter->second);
  }
  return h.digest();
}

}  // namespace seraph
