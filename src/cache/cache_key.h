#pragma once
// The response cache's key: a 128-bit hash of everything that decides an answer. 128 bits because
// a 64-bit hash alone lets two different requests share a key (Triton's cache served wrong answers
// on such collisions); at 128 bits a collision is not a practical event.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/inference.h"

namespace seraph {

struct CacheKey {
  uint64_t high = 0;
  uint64_t low = 0;
  bool operator==(const CacheKey&) const = default;
  std::string hex() const;  // 32 lowercase hex digits, high half first
};

// For hash maps: the key is already a uniform hash, so its low half is one.
struct CacheKeyHash {
  size_t operator()(const CacheKey& key) const { return static_cast<size_t>(key.low); }
};

// The canonical identity of an answer: the deployment, the model and version that will serve, the
// inputs (names, datatypes, shapes, data, and whether they bind by position), the requested outputs,
// the parameters that change the answer, and the tenant (empty when not configured).
//
// What does not change the answer is left out: the request's id and the model and version it named
// (the caller passes what routing chose), input and output order (V2 gives it no meaning),
// and the parameters is_answer_neutral_parameter names. JSON key order and spacing, and JSON vs binary
// encodings of one tensor, decode to the same InferRequest, so they give the same key.
CacheKey cache_key(std::string_view deployment, std::string_view model, int64_t version, const InferRequest& request,
                   std::string_view tenant);

// Request parameters that say how to deliver an answer, not what it is: the deadline ("timeout",
// read by the deadline guard), scheduling priority, and the binary data flags (V2 parsing already
// moves those to the response options; listed for requests built otherwise).
bool is_answer_neutral_parameter(std::string_view name);

}  // namespace seraph
