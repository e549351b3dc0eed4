#pragma once
// Small helpers for printing: aligned tables, byte sizes, shapes.

#include <cstdint>
#include <string>
#include <vector>

namespace hfjit::cmd {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(uint64_t bytes);
// v with `digits` decimals ("%.*f").
std::string fixed(double v, int digits);
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace hfjit::cmd
