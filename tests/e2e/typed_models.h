#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace seraph::test {

// The KServe V2 datatypes a TorchScript model can take and return in libtorch 1.13.
const std::vector<std::string>& torch_datatypes();

// Writes `<repo>/typed_<type>/1/` for each of torch_datatypes(): a TorchScript model with input
// "x" [-1, 3] and output "y" [-1, 3] of that datatype, computing y = 2x (y = not x for BOOL).
void write_typed_models(const std::filesystem::path& repository);

// Writes `<repo>/slow/1/`: input "x" FP32 [-1, 1], output "y" = x, after x[0][0] rounds of a
// 256x256 matrix product (a few milliseconds each on one core): a model as slow as a test needs.
void write_slow_model(const std::filesystem::path& repository);

// Writes `<repo>/<name>/1/`: input "x" FP32 [-1, 1], output "y" = x, but the module raises an
// error for a negative x; model.yaml gets `extra_yaml` appended.
void write_picky_model(const std::filesystem::path& repository, const std::string& name, const std::string& extra_yaml);

}  // namespace seraph::test
