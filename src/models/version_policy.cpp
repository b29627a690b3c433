#include "models/version_policy.h"

#include <algorithm>
#include <charconv>

#include <yaml-cpp/yaml.h>

namespace seraph {

std::set<int64_t> VersionPolicy::select(const std::vector<int64_t>& available) const {
  std::set<int64_t> sorted(available.begin(), available.end());
  switch (kind) {
    case Kind::kAll:
      return sorted;
    case Kind::kLatest: {
      std::set<int64_t> chosen;
      for (auto it = sorted.rbegin(); it != sorted.rend() && static_cast<int64_t>(chosen.size()) < latest; ++it) {
        chosen.insert(*it);
      }
      return chosen;
    }
    case Kind::kSpecific: {
      std::set<int64_t> chosen;
      for (int64_t v : sorted) {
        if (specific.count(v)) chosen.insert(v);
      }
      return chosen;
    }
  }
  return sorted;
}

Status parse_version_policy(const std::string& text, VersionPolicy& policy) {
  if (text == "all") {
    policy = {};
    return {};
  }
  constexpr std::string_view kLatest = "latest ";
  if (text.starts_with(kLatest)) {
    int64_t n = 0;
    const char* begin = text.data() + kLatest.size();
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size() && n >= 1) {
      policy = {VersionPolicy::Kind::kLatest, n, {}};
      return {};
    }
  }
  return invalid_argument("must be 'all', 'latest N' (N >= 1) or a list of versions, got '" + text + "'");
}

Status model_version_policy(const std::filesystem::path& model_dir, const VersionPolicy& fallback, VersionPolicy& policy) {
  const auto file = model_dir / "policy.yaml";
  policy = fallback;
  if (!std::filesystem::exists(file)) return {};
  try {
    const YAML::Node versions = YAML::LoadFile(file.string())["versions"];
    if (!versions) return invalid_argument(file.string() + ": versions: is required");
    if (versions.IsSequence()) {
      VersionPolicy specific{VersionPolicy::Kind::kSpecific, 0, {}};
      for (const auto& v : versions) specific.specific.insert(v.as<int64_t>());
      policy = specific;
      return {};
    }
    if (Status s = parse_version_policy(versions.as<std::string>(), policy); !s.is_ok()) {
      return invalid_argument(file.string() + ": versions: " + s.message());
    }
  } catch (const YAML::Exception& e) {
    return invalid_argument(file.string() + ": versions: " + e.what());
  }
  return {};
}

}  // namespace seraph
