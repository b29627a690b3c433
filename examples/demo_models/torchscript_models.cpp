// The TorchScript demos: a small MLP over the iris measurements, trained with libtorch and saved as a
// module that takes raw measurements and returns class probabilities; and a wide dense network for
// the batching benchmark. All libtorch code of the builder lives in this one file, since its headers
// are slow to compile.
#include <fmt/core.h>
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/script.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "demo_models.h"
#include "labelled_table.h"
#include "model_version_writer.h"

namespace seraph::demo {
namespace {

constexpr int64_t kHidden = 16;
constexpr int kEpochs = 300;
constexpr double kLearningRate = 0.01;

struct Tensors {
  torch::Tensor features;  // [N, n_features] float
  torch::Tensor targets;   // [N] int64
};

Tensors to_tensors(const LabelledTable& table) {
  const auto rows = static_cast<int64_t>(table.rows());
  const auto columns = static_cast<int64_t>(table.n_features);
  const std::vector<int64_t> targets(table.targets.begin(), table.targets.end());
  // from_blob does not copy, so clone() before the table goes away.
  return {
      torch::from_blob(const_cast<float*>(table.features.data()), {rows, columns}, torch::kFloat32).clone(),
      torch::tensor(targets, torch::kInt64)};
}

struct TrainedMlp {
  torch::Tensor mean, scale;  // standardisation of the raw features, from the training rows
  torch::nn::Linear hidden{nullptr}, output{nullptr};
};

TrainedMlp train(const Tensors& data, int64_t n_classes) {
  torch::manual_seed(0);
  TrainedMlp mlp{data.features.mean(0), data.features.std(0),
                 torch::nn::Linear(data.features.size(1), kHidden), torch::nn::Linear(kHidden, n_classes)};
  const torch::Tensor inputs = (data.features - mlp.mean) / mlp.scale;
  auto parameters = mlp.hidden->parameters();
  for (const auto& p : mlp.output->parameters()) parameters.push_back(p);
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(kLearningRate));
  for (int epoch = 0; epoch < kEpochs; ++epoch) {  // full batch: 120 rows
    optimizer.zero_grad();
    const torch::Tensor logits = mlp.output(torch::relu(mlp.hidden(inputs)));
    torch::nn::functional::cross_entropy(logits, data.targets).backward();
    optimizer.step();
  }
  return mlp;
}

// A scripted module needs no Python to build: the trained tensors become its attributes and forward()
// is TorchScript source, with the standardisation inside so that clients send raw measurements.
torch::jit::Module to_torchscript(const TrainedMlp& mlp) {
  torch::jit::Module module("SeraphIrisMlp");
  module.register_buffer("mean", mlp.mean.detach().clone());
  module.register_buffer("scale", mlp.scale.detach().clone());
  module.register_parameter("hidden_weight", mlp.hidden->weight.detach().clone(), /*is_buffer=*/false);
  module.register_parameter("hidden_bias", mlp.hidden->bias.detach().clone(), /*is_buffer=*/false);
  module.register_parameter("output_weight", mlp.output->weight.detach().clone(), /*is_buffer=*/false);
  module.register_parameter("output_bias", mlp.output->bias.detach().clone(), /*is_buffer=*/false);
  module.define(R"(
def forward(self, x):
    z = (x - self.mean) / self.scale
    h = torch.relu(torch.addmm(self.hidden_bias, z, self.hidden_weight.t()))
    return torch.softmax(torch.addmm(self.output_bias, h, self.output_weight.t()), 1)
)");
  module.eval();
  return module;
}

// Accuracy of the saved artifact itself, the file the server will load.
double accuracy(const std::filesystem::path& model_file, const Tensors& data, int64_t n_classes) {
  torch::jit::Module loaded = torch::jit::load(model_file.string());
  const torch::NoGradGuard no_grad;
  const torch::Tensor probabilities = loaded.forward({data.features}).toTensor();
  if (probabilities.dim() != 2 || probabilities.size(0) != data.features.size(0) ||
      probabilities.size(1) != n_classes) {
    throw std::runtime_error("the saved TorchScript MLP returned an unexpected shape");
  }
  return probabilities.argmax(1).eq(data.targets).to(torch::kFloat64).mean().item<double>();
}

std::string model_yaml(double held_out_accuracy) {
  return fmt::format(R"yaml(runtime: torchscript
artifact: model.pt
description: "Iris species from sepal and petal length and width in cm (TorchScript MLP)"
inputs:
  - {{name: input, datatype: FP32, shape: [-1, 4]}}
outputs:
  - {{name: probabilities, datatype: FP32, shape: [-1, 3]}}
labels: [setosa, versicolor, virginica]
metrics: {{accuracy: {:.4f}}}
warmup:
  - {{input: [5.1, 3.5, 1.4, 0.2]}}
)yaml",
                     held_out_accuracy);
}

}  // namespace

BuiltVersion build_iris_mlp_model(const std::filesystem::path& data_dir, const std::filesystem::path& repo) {
  const auto [train_rows, held_out_rows] = split_held_out(read_labelled_table(data_dir / "iris.csv"));
  const auto n_classes = static_cast<int64_t>(train_rows.class_names.size());
  torch::set_num_threads(1);  // deterministic, and the data is tiny
  const torch::jit::Module module = to_torchscript(train(to_tensors(train_rows), n_classes));
  const Tensors held_out = to_tensors(held_out_rows);
  double held_out_accuracy = 0.0;
  write_model_version(repo / "mlp", 1, [&](const std::filesystem::path& dir) {
    module.save((dir / "model.pt").string());
    held_out_accuracy = accuracy(dir / "model.pt", held_out, n_classes);
    write_text_file(dir / "model.yaml", model_yaml(held_out_accuracy));
  });
  return {"mlp", 1, held_out_accuracy, held_out_rows.rows()};
}

namespace {

constexpr int64_t kDenseInputs = 512;
constexpr int64_t kDenseWidth = 1024;
constexpr int64_t kDenseClasses = 10;

// 512 inputs, four 1024-wide dense layers, 10 outputs: compute dominates a request, so merging
// requests into one matrix product shows what dynamic batching gains. Seeded random weights: it is
// a load generator, not a classifier of anything.
torch::jit::Module dense_benchmark_module() {
  torch::manual_seed(512);
  torch::jit::Module module("SeraphDense");
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t in = layer == 0 ? kDenseInputs : kDenseWidth;
    module.register_parameter(fmt::format("w{}", layer), torch::randn({in, kDenseWidth}) / std::sqrt(double(in)), false);
    module.register_parameter(fmt::format("b{}", layer), torch::zeros({kDenseWidth}), false);
  }
  module.register_parameter("out_w", torch::randn({kDenseClasses, kDenseWidth}) / 32.0, false);
  module.register_parameter("out_b", torch::zeros({kDenseClasses}), false);
  module.define(R"(
def forward(self, x):
    h = torch.relu(torch.addmm(self.b0, x, self.w0))
    h = torch.relu(torch.addmm(self.b1, h, self.w1))
    h = torch.relu(torch.addmm(self.b2, h, self.w2))
    h = torch.relu(torch.addmm(self.b3, h, self.w3))
    return torch.softmax(torch.addmm(self.out_b, h, self.out_w.t()), 1)
)");
  module.eval();
  return module;
}

}  // namespace

void build_dense_benchmark_model(const std::filesystem::path& repo) {
  const torch::jit::Module module = dense_benchmark_module();
  write_model_version(repo / "dense", 1, [&](const std::filesystem::path& dir) {
    module.save((dir / "model.pt").string());
    write_text_file(dir / "model.yaml", fmt::format(R"yaml(runtime: torchscript
artifact: model.pt
description: "Synthetic dense network (512 inputs, 4 layers of 1024, seeded random weights) for the batching benchmark"
inputs:
  - {{name: input, datatype: FP32, shape: [-1, {0}]}}
outputs:
  - {{name: probabilities, datatype: FP32, shape: [-1, {1}]}}
batching: {{max_batch_size: 64, max_queue_delay_us: 2000}}
)yaml",
                                                    kDenseInputs, kDenseClasses));
  });
}

}  // namespace seraph::demo
