#pragma once
// Bytes as lowercase hex digits, as digests and key ids are written.
#include <span>
#include <string>

namespace seraph {

std::string to_hex(std::span<const unsigned char> bytes);

}  // namespace seraph
