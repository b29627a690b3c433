// fastText text classifier: BYTES text in, top-k labels and their probabilities out.
#include <fasttext/fasttext.h>

#include <algorithm>
#include <istream>
#include <streambuf>
#include <stdexcept>

#include "models/runtime.h"

namespace seraph {
namespace {

constexpr std::string_view kLabelPrefix = "__label__";
constexpr size_t kKeptBufferBytes = 64 * 1024;

// An input stream over characters the caller owns, re-pointed for each line.
class LineBuffer : public std::streambuf {
 public:
  void point_at(std::string& text) { setg(text.data(), text.data(), text.data() + text.size()); }
};

class FastTextRuntime final : public Runtime {
 public:
  FastTextRuntime(const ModelConfig& config, const std::filesystem::path& version_dir)
      : preprocessing_(config.preprocessing) {
    if (config.inputs.size() != 1 || config.inputs[0].datatype != DataType::kBytes) {
      throw std::runtime_error("fasttext models take exactly one BYTES input");
    }
    if (config.outputs.size() != 2 || config.outputs[0].datatype != DataType::kBytes ||
        config.outputs[1].datatype != DataType::kFp32) {
      throw std::runtime_error("fasttext models have two outputs: labels (BYTES) and probabilities (FP32)");
    }
    try {
      model_.loadModel((version_dir / config.artifact).string());
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot load fastText model: " + std::string(e.what()));
    }
    const int label_count = model_.getDictionary()->nlabels();
    if (label_count < 1) throw std::runtime_error("fastText model has no labels (not a supervised model)");
    if (Status s = config.parameter_int("top_k", label_count, top_k_); !s.is_ok())
      throw std::runtime_error(s.message());
    top_k_ = std::clamp(top_k_, 1, label_count);
    label_output_ = config.outputs[0].name;
    probability_output_ = config.outputs[1].name;
  }

  Status execute(std::span<const Tensor> inputs, std::vector<Tensor>& outputs) override {
    const Tensor& text = inputs[0];
    const int64_t rows = text.size();
    Tensor labels{label_output_, DataType::kBytes, {rows, top_k_}, {}, {}};
    Tensor probabilities{probability_output_, DataType::kFp32, {rows, top_k_}, {}, {}};
    labels.strings.reserve(rows * top_k_);
    probabilities.bytes.resize(rows * top_k_ * sizeof(float));
    auto probs = probabilities.mutable_values<float>();

    // Kept per thread: building a stream (its locale above all) cost more than a short prediction.
    thread_local std::string buffer;
    thread_local LineBuffer line_buffer;
    thread_local std::istream line(&line_buffer);
    thread_local std::vector<std::pair<fasttext::real, std::string>> predictions;
    for (int64_t row = 0; row < rows; ++row) {
      // fastText reads one line; the newline ends the line and adds its end-of-sentence token.
      buffer.clear();
      append_preprocessed_text(buffer, text.strings[row], preprocessing_);
      buffer += '\n';
      line_buffer.point_at(buffer);
      line.clear();
      predictions.clear();
      model_.predictLine(line, predictions, top_k_, 0.0);
      for (int k = 0; k < top_k_; ++k) {
        if (k < static_cast<int>(predictions.size())) {
          std::string_view label = predictions[k].second;
          if (label.starts_with(kLabelPrefix)) label.remove_prefix(kLabelPrefix.size());
          labels.strings.emplace_back(label);
          // fastText scores are exp(log(p + 1e-5)); remove its smoothing term to serve p itself.
          probs[row * top_k_ + k] = std::clamp(predictions[k].first - 1e-5F, 0.0F, 1.0F);
        } else {
          labels.strings.emplace_back();
          probs[row * top_k_ + k] = 0.0F;
        }
      }
    }
    if (buffer.capacity() > kKeptBufferBytes) std::string().swap(buffer);  // one long text must not stay resident
    outputs.push_back(std::move(labels));
    outputs.push_back(std::move(probabilities));
    return {};
  }

 private:
  fasttext::FastText model_;
  TextPreprocessing preprocessing_;
  int top_k_ = 1;
  std::string label_output_;
  std::string probability_output_;
};

}  // namespace

std::unique_ptr<Runtime> make_fasttext_runtime(const ModelConfig& config, const std::filesystem::path& dir) {
  return std::make_unique<FastTextRuntime>(config, dir);
}

}  // namespace seraph
