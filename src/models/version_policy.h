#pragma once
// Which versions of a model are served, as in Triton: all of them, the latest N, or specific ones.
// Set per model in `<repo>/<model>/policy.yaml` (`versions: all`, `versions: latest 2` or
// `versions: [1, 3]`), else by the server's models.version_policy.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace seraph {

struct VersionPolicy {
  enum class Kind { kAll, kLatest, kSpecific } kind = Kind::kAll;
  int64_t latest = 0;
  std::set<int64_t> specific;

  // The versions of `available` (any order) that the policy serves.
  std::set<int64_t> select(const std::vector<int64_t>& available) const;
};

// "all" or "latest N".
Status parse_version_policy(const std::string& text, VersionPolicy& policy);
// The model's policy.yaml if it has one, else `fallback`; a broken file is an error naming it.
Status model_version_policy(const std::filesystem::path& model_dir, const VersionPolicy& fallback, VersionPolicy& policy);

}  // namespace seraph
