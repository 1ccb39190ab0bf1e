#pragma once
// A small plotting layer: a figure is described as data (series read from CSV files, shaded
// intervals, vertical marker lines, a second y axis), turned into a gnuplot script (pngcairo
// terminal) written next to the PNG, and rendered by running `gnuplot`. The script stays on disk
// so a reader can re-render or restyle a figure without rerunning the experiment.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace catapult::app::reproduce {

/// One curve: columns x_column and y_column (1-based, gnuplot's `using`) of a CSV file.
struct Series {
  std::filesystem::path csv;  ///< relative to the figure's directory or absolute
  std::string x_column;       ///< column name (resolved through the CSV header)
  std::string y_column;
  std::string title;
  bool second_axis = false;     ///< plot against y2
  std::string style = "lines";  ///< gnuplot style: lines, points, linespoints, steps
  std::string color;            ///< e.g. "#1f77b4"; empty = gnuplot's default cycle
  double line_width = 1.5;
};

/// A 2-D figure.
struct Figure {
  std::string title;
  std::string subtitle;  ///< second title line, e.g. "quick protocol: 10000 train images, 2 seeds"
  std::string x_label;
  std::string y_label;
  std::string y2_label;  ///< non-empty enables the second axis
  bool log_x = false;
  bool log_y = false;
  bool log_y2 = false;
  std::vector<Series> series;
  std::vector<std::pair<double, double>> shaded;  ///< x intervals shaded in light red
  std::vector<double> vertical_lines;             ///< x positions of red vertical lines
  int width = 1000;
  int height = 600;
};

/// Throws RuntimeError with an installation hint when `gnuplot` cannot be run.
void require_gnuplot();

/// True when `gnuplot` can be run (cached after the first call).
[[nodiscard]] bool gnuplot_available();

/// The gnuplot script drawing `figure` into `png` (a file name in the same directory as the
/// script; CSV paths are resolved relative to that directory). Column names are looked up in
/// the CSV headers; throws InvalidArgument when a column is missing.
[[nodiscard]] std::string gnuplot_script(const Figure& figure, const std::filesystem::path& dir,
                                         const std::string& png_name);

/// Writes <dir>/<name>.gp and renders <dir>/<name>.png with gnuplot. Throws RuntimeError when
/// gnuplot is missing or fails (its stderr is kept in <dir>/<name>.gp.log).
void render_figure(const Figure& figure, const std::filesystem::path& dir, const std::string& name);

}  // namespace catapult::app::reproduce
