// TorchScript through libtorch: tensors in, tensors out, batched on dimension 0.
// Kept to this one translation unit because libtorch's headers are slow to compile.
#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "models/runtime.h"

namespace seraph {
namespace {

std::optional<c10::ScalarType> torch_type(DataType type) {
  switch (type) {
    case DataType::kBool: return c10::ScalarType::Bool;
    case DataType::kUint8: return c10::ScalarType::Byte;
    case DataType::kInt8: return c10::ScalarType::Char;
    case DataType::kInt16: return c10::ScalarType::Short;
    case DataType::kInt32: return c10::ScalarType::Int;
    case DataType::kInt64: return c10::ScalarType::Long;
    case DataType::kFp16: return c10::ScalarType::Half;
    case DataType::kFp32: return c10::ScalarType::Float;
    case DataType::kFp64: return c10::ScalarType::Double;
    case DataType::kBf16: return c10::ScalarType::BFloat16;
    default: return std::nullopt;
  }
}

class TorchScriptRuntime final : public Runtime {
 public:
  TorchScriptRuntime(const ModelConfig& config, const std::filesystem::path& version_dir) : config_(config) {
    // Parallelism comes from execution instances, not from intra-op threads competing for the cores.
    static std::once_flag threads_once;
    std::call_once(threads_once, [] {
      at::set_num_threads(1);
      at::set_num_interop_threads(1);
      // The profiling executor re-optimises during the first calls, making them tens of
      // milliseconds slow; the legacy executor optimises once and serves steadily.
      torch::jit::getProfilingMode() = false;
    });
    for (const auto& spec : config.inputs) {
      if (!torch_type(spec.datatype)) throw std::runtime_error("torchscript: unsupported input datatype for " + spec.name);
    }
    for (const auto& spec : config.outputs) {
      if (!torch_type(spec.datatype)) throw std::runtime_error("torchscript: unsupported output datatype for " + spec.name);
    }
    try {
      module_ = torch::jit::load((version_dir / config.artifact).string(), c10::Device(c10::kCPU));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot load TorchScript module: " + std::string(e.what()).substr(0, 500));
    }
    module_.eval();
  }

  Status execute(std::span<const Tensor> inputs, std::vector<Tensor>& outputs) override {
    try {
      c10::InferenceMode inference;
      std::vector<c10::IValue> args;
      args.reserve(inputs.size());
      for (const Tensor& input : inputs) {
        // The request's buffer outlives the call, so the tensor borrows it instead of copying.
        args.emplace_back(torch::from_blob(const_cast<std::byte*>(input.bytes.data()), input.shape,
                                           torch::TensorOptions().dtype(*torch_type(input.datatype))));
      }
      c10::IValue result = module_.forward(args);
      std::vector<at::Tensor> produced;
      if (result.isTensor()) {
        produced.push_back(result.toTensor());
      } else if (result.isTuple()) {
        for (const auto& item : result.toTuple()->elements()) produced.push_back(item.toTensor());
      } else if (result.isTensorList()) {
        for (const at::Tensor& item : result.toTensorList().vec()) produced.push_back(item);
      } else {
        return internal_error("TorchScript module returned neither a tensor nor a tuple of tensors");
      }
      if (produced.size() != config_.outputs.size()) {
        return internal_error(fmt::format("TorchScript module returned {} outputs, model.yaml declares {}",
                                          produced.size(), config_.outputs.size()));
      }
      for (size_t i = 0; i < produced.size(); ++i) {
        const TensorSpec& spec = config_.outputs[i];
        at::Tensor t = produced[i].to(*torch_type(spec.datatype)).contiguous();
        Tensor out{spec.name, spec.datatype, Shape(t.sizes().begin(), t.sizes().end()), {}, {}};
        out.bytes.resize(t.numel() * t.element_size());
        if (!out.bytes.empty()) std::memcpy(out.bytes.data(), t.data_ptr(), out.bytes.size());
        outputs.push_back(std::move(out));
      }
    } catch (const c10::Error& e) {
      return internal_error("TorchScript execution failed: " + std::string(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      // The interpreter's own errors (a raise in the module) carry a traceback; its last line says why.
      std::string_view message = e.what();
      while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
      const auto last_line = message.rfind('\n');
      if (last_line != std::string_view::npos) message.remove_prefix(last_line + 1);
      return internal_error("TorchScript execution failed: " + std::string(message));
    }
    return {};
  }

 private:
  ModelConfig config_;
  torch::jit::Module module_;
};

}  // namespace

std::unique_ptr<Runtime> make_torchscript_runtime(const ModelConfig& config, const std::filesystem::path& dir) {
  return std::make_unique<TorchScriptRuntime>(config, dir);
}

}  // namespace seraph
