#include "output.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/core/version.hpp"
#include "catapult/kernels/isa.hpp"
#include "catapult/train/checkpoint.hpp"

namespace catapult::app::reproduce {

// Defined in the build-time generated git_commit.cpp (apps/reproduce/git_commit.cmake).
const char* build_git_commit() noexcept;

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    throw IoError(str_cat("cannot create directory ", path.parent_path(), ": ", ec.message()));
  train::write_file_atomically(path, content);
}

void CsvTable::add(std::vector<double> row) {
  if (row.size() != columns.size())
    throw InvalidArgument(
        str_cat("CsvTable::add: row of ", row.size(), " values for ", columns.size(), " columns"));
  rows.push_back(std::move(row));
}

std::size_t CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  throw InvalidArgument(str_cat("CsvTable: no column '", name, "'"));
}

std::string CsvTable::to_csv() const {
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    out += columns[i];
  }
  out += '\n';
  char buf[64];
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ',';
      const double v = row[i];
      if (std::isnan(v)) {
        out += "nan";
      } else if (std::isinf(v)) {
        out += v > 0 ? "inf" : "-inf";
      } else {
        std::snprintf(buf, sizeof buf, "%.10g", v);
        out += buf;
      }
    }
    out += '\n';
  }
  return out;
}

CsvTable read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw IoError(str_cat("cannot open ", path));
  CsvTable table;
  std::string line;
  if (!std::getline(in, line)) throw DataError(str_cat(path, ": empty CSV"));
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) table.columns.push_back(cell);
  }
  std::size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      try {
        std::size_t used = 0;
        row.push_back(std::stod(cell, &used));
        if (used != cell.size()) throw std::invalid_argument(cell);
      } catch (const std::exception&) {
        throw DataError(str_cat(path, ":", line_no, ": not a number: '", cell, "'"));
      }
    }
    if (row.size() != table.columns.size())
      throw DataError(str_cat(path, ":", line_no, ": ", row.size(), " values for ",
                              table.columns.size(), " columns"));
    table.rows.push_back(std::move(row));
  }
  return table;
}

const char* git_commit() noexcept { return build_git_commit(); }

nlohmann::json run_metadata(const std::string& experiment, const std::string& protocol) {
  return {{"experiment", experiment},           {"protocol", protocol},
          {"version", CATAPULT_VERSION_STRING}, {"git_commit", git_commit()},
          {"threads", max_threads()},           {"isa", kernels::to_string(kernels::active_isa())}};
}

}  // namespace catapult::app::reproduce
