#pragma once
// The numeric data sets in examples/data: a header line `n_rows,n_features,class names...`, then one row
// per line, the features followed by the integer class.
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace seraph::demo {

struct LabelledTable {
  std::size_t n_features = 0;
  std::vector<std::string> class_names;
  std::vector<float> features;  // row-major, rows() x n_features
  std::vector<int> targets;     // class index per row

  std::size_t rows() const { return targets.size(); }
};

LabelledTable read_labelled_table(const std::filesystem::path& csv);

// Returns {training rows, held-out rows} under is_held_out.
std::pair<LabelledTable, LabelledTable> split_held_out(const LabelledTable& table);

}  // namespace seraph::demo
