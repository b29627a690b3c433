#pragma once
// Request bodies compressed per HTTP Content-Encoding: gzip, and deflate (the zlib format, which is
// what HTTP's "deflate" means and what Triton's client sends).
#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace seraph {

// Decodes `body` sent with Content-Encoding `encoding` into `out`. Empty or "identity": `out` is a
// copy of `body`. Another encoding: 415. Corrupt or truncated data: 400. More than `limit` bytes
// once decoded: 413, found while inflating, which never goes past `limit` (no zip bombs).
Status decode_content(std::string_view encoding, std::string_view body, size_t limit, std::string& out);

}  // namespace seraph
