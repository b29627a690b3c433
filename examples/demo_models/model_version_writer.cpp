#include "model_version_writer.h"

#include <fmt/core.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace seraph::demo {

void write_model_version(const std::filesystem::path& model_dir, int version,
                         const std::function<void(const std::filesystem::path& dir)>& fill) {
  namespace fs = std::filesystem;
  fs::create_directories(model_dir);
  const fs::path staging = model_dir / fmt::format(".{}.tmp", version);
  const fs::path final_dir = model_dir / std::to_string(version);
  fs::remove_all(staging);  // left behind by an interrupted run
  fs::create_directory(staging);
  fill(staging);
  // rename() cannot replace a non-empty directory, so an older build of this version goes first.
  fs::remove_all(final_dir);
  fs::rename(staging, final_dir);
}

void write_text_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

}  // namespace seraph::demo
