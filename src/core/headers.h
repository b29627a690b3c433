#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seraph {

// Read access to a request's metadata (HTTP headers today, gRPC metadata later), so guards can
// read them without knowing the wire. Names are case-insensitive; a missing one reads as empty.
class HeaderLookup {
 public:
  virtual ~HeaderLookup() = default;
  virtual std::string_view header(std::string_view name) const = 0;
};

// An owned copy of a request's headers: one buffer for every name and value, so copying a request's
// headers costs two allocations however many there are, and nothing points into the parser's memory.
class HeaderMap final : public HeaderLookup {
 public:
  void reserve(size_t fields, size_t bytes);
  // Appends a field; the first of repeated names is the one header() finds.
  void add(std::string_view name, std::string_view value);
  std::string_view header(std::string_view name) const override;

 private:
  struct Field {
    uint32_t name_at, name_size, value_at, value_size;
  };
  std::string text_;
  std::vector<Field> fields_;
};

bool equals_ignoring_case(std::string_view a, std::string_view b);

}  // namespace seraph
