#pragma once
// SHA-256 of a model artifact, for the registry's record of exactly what was deployed.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace seraph {

// 64 lowercase hex digits of the file's SHA-256 (a directory artifact: not supported, an error).
Status sha256_of_file(const std::filesystem::path& file, std::string& hex);
bool is_sha256_hex(std::string_view text);

}  // namespace seraph
