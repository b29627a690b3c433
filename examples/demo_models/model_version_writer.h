#pragma once
// Writing one version of a model into the model repository, <repo>/<model>/<version>/.
#include <filesystem>
#include <functional>
#include <string_view>

namespace seraph::demo {

// `fill` writes the version's files into a hidden staging directory, <model_dir>/.<version>.tmp, which
// then replaces <model_dir>/<version>: a server scanning the repository never sees a half-written version.
void write_model_version(const std::filesystem::path& model_dir, int version,
                         const std::function<void(const std::filesystem::path& dir)>& fill);

void write_text_file(const std::filesystem::path& path, std::string_view text);

}  // namespace seraph::demo
