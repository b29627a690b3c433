// Fuzz target for the response cache's answer format (src/cache/answer_codec.h), whose bytes come
// back from Redis, where another replica or anyone who can write to Redis put them. What decodes
// must encode again to exactly the same bytes (the format has one spelling per answer), and must
// not decode under a limit smaller than itself. Any crash, sanitizer report, hang or mismatch is a
// bug; an error is the expected answer to garbage.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/answer_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  seraph::InferResponse answer;
  const seraph::Status decoded = seraph::decode_answer(bytes, answer);
  if (!decoded.is_ok()) {
    if (decoded.code() != seraph::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  for (const seraph::Tensor& output : answer.outputs) {
    const auto count = seraph::element_count(output.shape);
    if (!count || output.size() != *count) __builtin_trap();
  }
  std::string encoded;
  if (!seraph::encode_answer(answer, encoded).is_ok() || encoded != bytes) __builtin_trap();
  seraph::InferResponse capped;
  if (seraph::decode_answer(bytes, capped, bytes.size() - 1).is_ok()) __builtin_trap();
  return 0;
}
