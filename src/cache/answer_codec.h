#pragma once
// A cached answer as bytes, for a store shared between replicas (Redis). The format is compact,
// versioned and little-endian; every variable-length field carries its length:
//
//   "SRCA" format-version(u8 = 1)
//   model(str) version(i64) id(str) compute_ms(f64 bits) output-count(u32)
//   per output: name(str) datatype(u8) rank(u32) dims(i64 x rank)
//               fixed-size types: byte-length(u64) bytes   BYTES: element-count(u64) element(str) x count
//   str = length(u32) bytes
//
// The bytes come from outside the process (another replica, or whoever can write to Redis), so the
// decoder trusts none of them: every length is checked against the bytes left and against the
// tensor's shape and datatype before anything is allocated, and the whole input is capped.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/inference.h"
#include "core/status.h"

namespace seraph {

inline constexpr size_t kMaxEncodedAnswerBytes = 64 << 20;

// Fails (kInvalidArgument) only for an answer the format cannot hold: a string of 4 GiB or more, or
// an encoding longer than `max_bytes`.
Status encode_answer(const InferResponse& response, std::string& out, size_t max_bytes = kMaxEncodedAnswerBytes);

// Any malformed, truncated, oversized or trailing input is a kInvalidArgument, never a crash.
Status decode_answer(std::string_view bytes, InferResponse& out, size_t max_bytes = kMaxEncodedAnswerBytes);

}  // namespace seraph
