#pragma once
// The interface every in-process runtime implements: load an artifact, execute a batch.
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "models/model_config.h"

namespace seraph {

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Runs one batch. `inputs` match the model config (names, datatypes, shapes; batched on dim 0,
  // in the config's input order); `outputs` receives one tensor per configured output, batched
  // the same way. May be called from several execution threads at once.
  virtual Status execute(std::span<const Tensor> inputs, std::vector<Tensor>& outputs) = 0;
};

// Builds the runtime named by config.runtime from the artifact in `version_dir`.
// Throws std::runtime_error with the reason when the artifact cannot be loaded.
std::unique_ptr<Runtime> create_runtime(const ModelConfig& config, const std::filesystem::path& version_dir);

bool is_known_runtime(const std::string& name);

// Adds a runtime beside the built-in ones, before any model loads: how tests bring runtimes that
// behave in ways real models cannot be made to on demand (slow to free, say).
using RuntimeFactory = std::function<std::unique_ptr<Runtime>(const ModelConfig&, const std::filesystem::path&)>;
void register_runtime(std::string name, RuntimeFactory make);

}  // namespace seraph
