#include "labelled_table.h"

#include <fmt/core.h>

#include <charconv>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "held_out_split.h"

namespace seraph::demo {
namespace {

std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

template <typename Number>
Number parse_number(std::string_view field, const std::filesystem::path& csv, std::size_t line_number) {
  Number value{};
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc{} || end != field.data() + field.size()) {
    throw std::runtime_error(fmt::format("{}:{}: '{}' is not a number", csv.string(), line_number, field));
  }
  return value;
}

}  // namespace

LabelledTable read_labelled_table(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  if (!in) throw std::runtime_error(fmt::format("cannot open {}", csv.string()));

  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(fmt::format("{} is empty", csv.string()));
  const auto header = split_commas(line);
  if (header.size() < 4)
    throw std::runtime_error(
        fmt::format("{}:1: header needs n_rows,n_features and class names", csv.string()));
  LabelledTable table;
  const auto n_rows = parse_number<std::size_t>(header[0], csv, 1);
  table.n_features = parse_number<std::size_t>(header[1], csv, 1);
  table.class_names.assign(header.begin() + 2, header.end());

  for (std::size_t line_number = 2; std::getline(in, line); ++line_number) {
    if (line.empty()) continue;
    const auto fields = split_commas(line);
    if (fields.size() != table.n_features + 1) {
      throw std::runtime_error(fmt::format("{}:{}: expected {} fields, found {}", csv.string(), line_number,
                                           table.n_features + 1, fields.size()));
    }
    for (std::size_t i = 0; i < table.n_features; ++i) {
      table.features.push_back(parse_number<float>(fields[i], csv, line_number));
    }
    const int target = parse_number<int>(fields.back(), csv, line_number);
    if (target < 0 || static_cast<std::size_t>(target) >= table.class_names.size()) {
      throw std::runtime_error(
          fmt::format("{}:{}: class {} out of range", csv.string(), line_number, target));
    }
    table.targets.push_back(target);
  }
  if (table.rows() != n_rows) {
    throw std::runtime_error(
        fmt::format("{}: header says {} rows, found {}", csv.string(), n_rows, table.rows()));
  }
  return table;
}

std::pair<LabelledTable, LabelledTable> split_held_out(const LabelledTable& table) {
  LabelledTable train{table.n_features, table.class_names, {}, {}};
  LabelledTable held_out = train;
  for (std::size_t row = 0; row < table.rows(); ++row) {
    LabelledTable& part = is_held_out(row) ? held_out : train;
    const auto first = table.features.begin() + static_cast<std::ptrdiff_t>(row * table.n_features);
    part.features.insert(part.features.end(), first, first + static_cast<std::ptrdiff_t>(table.n_features));
    part.targets.push_back(table.targets[row]);
  }
  return {std::move(train), std::move(held_out)};
}

}  // namespace seraph::demo
