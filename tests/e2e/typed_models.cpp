// Kept to this one translation unit because libtorch's headers are slow to compile.
#include "typed_models.h"

#include <torch/script.h>

#include <algorithm>
#include <fstream>

namespace seraph::test {

const std::vector<std::string>& torch_datatypes() {
  static const std::vector<std::string> kTypes{"BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP32", "FP64"};
  return kTypes;
}

void write_typed_models(const std::filesystem::path& repository) {
  for (const std::string& type : torch_datatypes()) {
    std::string lower = type;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto dir = repository / ("typed_" + lower) / "1";
    std::filesystem::create_directories(dir);
    torch::jit::Module module("Typed" + type);
    module.define(type == "BOOL" ? "def forward(self, x):\n  return torch.logical_not(x)\n"
                                 : "def forward(self, x):\n  return x * 2\n");
    module.save((dir / "model.pt").string());
    std::ofstream yaml(dir / "model.yaml");
    yaml << "runtime: torchscript\nartifact: model.pt\n"
         << "inputs:\n  - {name: x, datatype: " << type << ", shape: [-1, 3]}\n"
         << "outputs:\n  - {name: y, datatype: " << type << ", shape: [-1, 3]}\n";
  }
}

void write_slow_model(const std::filesystem::path& repository) {
  const auto dir = repository / "slow" / "1";
  std::filesystem::create_directories(dir);
  torch::jit::Module module("Slow");
  module.register_buffer("w", torch::rand({256, 256}) / 16);
  module.define(R"(
def forward(self, x):
    rounds = int(x[0][0].item())
    m = torch.ones(256, 256)
    for _ in range(rounds):
        m = torch.tanh(torch.matmul(m, self.w))
    return x + m[0][0] * 0
)");
  module.save((dir / "model.pt").string());
  std::ofstream yaml(dir / "model.yaml");
  yaml << "runtime: torchscript\nartifact: model.pt\n"
       << "inputs:\n  - {name: x, datatype: FP32, shape: [-1, 1]}\n"
       << "outputs:\n  - {name: y, datatype: FP32, shape: [-1, 1]}\n";
}

void write_picky_model(const std::filesystem::path& repository, const std::string& name, const std::string& extra_yaml) {
  const auto dir = repository / name / "1";
  std::filesystem::create_directories(dir);
  torch::jit::Module module("Picky");
  module.define(R"(
def forward(self, x):
    assert bool(torch.min(x) >= 0), "negative input"
    return x
)");
  module.save((dir / "model.pt").string());
  std::ofstream yaml(dir / "model.yaml");
  yaml << "runtime: torchscript\nartifact: model.pt\n"
       << "inputs:\n  - {name: x, datatype: FP32, shape: [-1, 1]}\n"
       << "outputs:\n  - {name: y, datatype: FP32, shape: [-1, 1]}\n"
       << extra_yaml;
}

}  // namespace seraph::test
