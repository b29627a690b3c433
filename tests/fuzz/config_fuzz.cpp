// Fuzz target for the YAML readers: the server's config file (src/config/config.h), a model's
// model.yaml (src/models/model_config.h) and a model's policy.yaml (src/models/version_policy.h).
// They take paths, so each input is written to one file in a directory of this process's own and
// all three read it. Any crash, sanitizer report, escaping exception or hang is a bug; a list of
// problems or an error status is the expected answer to garbage.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "config/config.h"
#include "models/model_config.h"
#include "models/version_policy.h"

namespace {

// The directory, removed when the process exits normally.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "seraph-config-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;  // best effort at exit: a leftover directory in /tmp harms nothing
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ScratchDirectory directory;
  static const std::filesystem::path file = directory.path() / "policy.yaml";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }

  seraph::Config config;
  const std::vector<std::string> problems = seraph::load_config(file, config);
  if (problems.empty() && !config.models.repository.is_absolute()) __builtin_trap();

  seraph::ModelConfig model;
  const seraph::Status model_status = seraph::load_model_config(file, model);
  if (!model_status.is_ok() && model_status.code() != seraph::StatusCode::kInvalidArgument) __builtin_trap();

  seraph::VersionPolicy policy;
  const seraph::Status policy_status = seraph::model_version_policy(directory.path(), seraph::VersionPolicy{}, policy);
  if (!policy_status.is_ok() && policy_status.code() != seraph::StatusCode::kInvalidArgument) __builtin_trap();
  return 0;
}
