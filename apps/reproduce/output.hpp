#pragma once
// Output helpers of `catapult reproduce`: CSV tables, atomic file writes, run metadata.
// Everything an experiment writes goes through write_file_atomic (temp file + rename), so an
// interrupted run never leaves a half-written result behind.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace catapult::app::reproduce {

/// Writes `content` to `path` atomically (train::write_file_atomically: a temporary file in the
/// same directory, fsync, rename, directory fsync), creating the parent directory first. Throws
/// IoError naming the path.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// A numeric table with named columns, written as CSV (header line, then one line per row;
/// numbers with 10 significant digits, non-finite values as nan/inf/-inf).
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;

  /// Appends a row; throws InvalidArgument if its length differs from columns.size().
  void add(std::vector<double> row);
  /// Index of a column; throws InvalidArgument if absent.
  [[nodiscard]] std::size_t column(const std::string& name) const;
  [[nodiscard]] std::string to_csv() const;
  void write(const std::filesystem::path& path) const { write_file_atomic(path, to_csv()); }
};

/// Reads a CSV written by CsvTable (for tests and for the report). Throws IoError / DataError.
[[nodiscard]] CsvTable read_csv(const std::filesystem::path& path);

/// The git commit this program was built from, "-dirty" when the tree had uncommitted changes
/// ("unknown" outside a git checkout).
[[nodiscard]] const char* git_commit() noexcept;

/// Metadata common to every experiment: library version, git commit, threads, protocol name.
[[nodiscard]] nlohmann::json run_metadata(const std::string& experiment,
                                          const std::string& protocol);

}  // namespace catapult::app::reproduce
