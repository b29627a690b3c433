// fastText text classifier: BYTES text in, top-k labels and their probabilities out.
#include <fasttext/fasttext.h>
#include <fasttext/loss.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "models/runtime.h"
#include "models/runtimes/fasttext_words.h"

namespace seraph {
namespace {

constexpr std::string_view kLabelPrefix = "__label__";
constexpr size_t kKeptBufferBytes = 64 * 1024;

// fastText's classifier with its model in reach: FastText::predict builds a fresh Model::State (three
// vectors) for every line, where one per thread serves every line of the same shape.
class Classifier : public fasttext::FastText {
 public:
  // After loadModel. A loss of its own to predict with (fastText's is inside its Model), for the
  // losses whose prediction needs nothing else: softmax, hierarchical softmax, one-vs-all.
  void prepare_prediction() {
    const auto loss = args_->loss;
    dense_input_ = dynamic_cast<const fasttext::DenseMatrix*>(input_.get());
    if (dense_input_ &&
        (loss == fasttext::loss_name::softmax || loss == fasttext::loss_name::hs || loss == fasttext::loss_name::ova)) {
      prediction_loss_ = createLoss(output_);
    }
  }

  // fastText's Model::predict. Its hidden layer is the mean of the input rows, added one row at a
  // time through two virtual calls per row; with a dense input matrix the mean is taken here, adding
  // the rows in the same order, so every sum is the same to the bit.
  void predict(const std::vector<int32_t>& rows, int32_t k, fasttext::Predictions& predictions,
               fasttext::Model::State& state) const {
    if (!prediction_loss_) return model_->predict(rows, k, 0.0, predictions, state);
    const int64_t columns = dense_input_->cols();
    float* __restrict hidden = state.hidden.data();
    std::fill(hidden, hidden + columns, 0.0F);
    for (const int32_t row : rows) {
      const float* __restrict values = dense_input_->data() + row * columns;
      for (int64_t j = 0; j < columns; ++j) hidden[j] += values[j];
    }
    const auto scale = static_cast<fasttext::real>(1.0 / static_cast<double>(rows.size()));
    for (int64_t j = 0; j < columns; ++j) hidden[j] *= scale;
    predictions.reserve(static_cast<size_t>(k) + 1);
    prediction_loss_->predict(k, 0.0, predictions, state);
  }
  int32_t dimension() const { return args_->dim; }

 private:
  const fasttext::DenseMatrix* dense_input_ = nullptr;
  std::shared_ptr<fasttext::Loss> prediction_loss_;
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
    model_.prepare_prediction();
    dictionary_ = model_.getDictionary();  // held, not fetched (and counted) per request
    words_.emplace(dictionary_, model_.getArgs(), model_.isQuant());
    const int label_count = dictionary_->nlabels();
    if (label_count < 1 || model_.getArgs().model != fasttext::model_name::sup)
      throw std::runtime_error("fastText model is not a supervised classifier (no labels to predict)");
    if (Status s = config.parameter_int("top_k", label_count, top_k_); !s.is_ok())
      throw std::runtime_error(s.message());
    top_k_ = std::clamp(top_k_, 1, label_count);
    label_output_ = config.outputs[0].name;
    probability_output_ = config.outputs[1].name;
    // Label names once, without fastText's prefix, rather than a copy per prediction.
    for (int32_t id = 0; id < label_count; ++id) {
      std::string label = dictionary_->getLabel(id);
      if (std::string_view(label).starts_with(kLabelPrefix)) label.erase(0, kLabelPrefix.size());
      label_names_.push_back(std::move(label));
    }
  }

  Status execute(std::span<const Tensor> inputs, std::vector<Tensor>& outputs) override {
    const Tensor& text = inputs[0];
    const int64_t rows = text.size();
    Tensor labels{label_output_, DataType::kBytes, {rows, top_k_}, {}, {}};
    Tensor probabilities{probability_output_, DataType::kFp32, {rows, top_k_}, {}, {}};
    labels.strings.reserve(rows * top_k_);
    probabilities.bytes.resize(rows * top_k_ * sizeof(float));
    auto probs = probabilities.mutable_values<float>();

    // fastText's own predictLine, with the text, word lists and predictions kept per thread: the
    // same steps, without their allocations.
    thread_local std::string buffer;
    thread_local std::vector<int32_t> words;
    thread_local fasttext::Predictions predictions;
    for (int64_t row = 0; row < rows; ++row) {
      buffer.clear();
      append_preprocessed_text(buffer, text.strings[row], preprocessing_);
      predictions.clear();
      words_->read(buffer, words);
      if (!words.empty()) model_.predict(words, top_k_, predictions, state());
      for (int k = 0; k < top_k_; ++k) {
        if (k < static_cast<int>(predictions.size())) {
          labels.strings.push_back(label_names_.at(static_cast<size_t>(predictions[k].second)));
          // fastText scores are log(p + 1e-5); remove its smoothing term to serve p itself.
          probs[row * top_k_ + k] = std::clamp(std::exp(predictions[k].first) - 1e-5F, 0.0F, 1.0F);
        } else {
          labels.strings.emplace_back();
          probs[row * top_k_ + k] = 0.0F;
        }
      }
    }
    // One long text must not keep its memory resident in every thread that ran it.
    if (buffer.capacity() > kKeptBufferBytes) std::string().swap(buffer);
    if (words.capacity() * sizeof(int32_t) > kKeptBufferBytes) std::vector<int32_t>().swap(words);
    outputs.reserve(outputs.size() + 2);
    outputs.push_back(std::move(labels));
    outputs.push_back(std::move(probabilities));
    return {};
  }

 private:
  // This thread's scratch state for a model of this one's shape (the versions of one model share it).
  fasttext::Model::State& state() const {
    thread_local std::optional<fasttext::Model::State> kept;
    if (!kept || kept->hidden.size() != model_.dimension() || kept->output.size() != dictionary_->nlabels()) {
      kept.emplace(model_.dimension(), dictionary_->nlabels(), 0);
    }
    return *kept;
  }

  Classifier model_;
  TextPreprocessing preprocessing_;
  int top_k_ = 1;
  std::string label_output_;
  std::string probability_output_;
  std::shared_ptr<const fasttext::Dictionary> dictionary_;
  std::optional<FastTextWords> words_;    // set once the model has loaded
  std::vector<std::string> label_names_;  // by fastText's label id
};

}  // namespace

std::unique_ptr<Runtime> make_fasttext_runtime(const ModelConfig& config, const std::filesystem::path& dir) {
  return std::make_unique<FastTextRuntime>(config, dir);
}

}  // namespace seraph
