#pragma once
#include <string_view>

namespace seraph {

// Read access to a request's metadata (HTTP headers today, gRPC metadata later), so guards can
// read them without knowing the wire. Names are case-insensitive; a missing one reads as empty.
class HeaderLookup {
 public:
  virtual ~HeaderLookup() = default;
  virtual std::string_view header(std::string_view name) const = 0;
};

}  // namespace seraph
