#pragma once
// A small plotting layer: a figure is described as data (series read from CSV files, shaded
// intervals, vertical marker lines, a second y axis, bands, several stacked panels), turned into a
// gnuplot script (pngcairo terminal) written next to the PNG, and rendered by running `gnuplot`.
// The script stays on disk, with the CSV files it reads, so a reader can re-render or restyle a
// figure without rerunning the experiment.

#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace catapult::app::reproduce {

/// One curve: columns x_column and y_column (1-based, gnuplot's `using`) of a CSV file.
struct Series {
  Series() = default;
  /// The fields in order (a constructor rather than an aggregate, so that the optional fields
  /// below can grow without touching every figure).
  Series(std::filesystem::path csv_, std::string x_column_, std::string y_column_,
         std::string title_, bool second_axis_ = false, std::string style_ = "lines",
         std::string color_ = {}, double line_width_ = 1.5)
      : csv(std::move(csv_)),
        x_column(std::move(x_column_)),
        y_column(std::move(y_column_)),
        title(std::move(title_)),
        second_axis(second_axis_),
        style(std::move(style_)),
        color(std::move(color_)),
        line_width(line_width_) {}

  std::filesystem::path csv;  ///< relative to the figure's directory or absolute
  std::string x_column;       ///< column name (resolved through the CSV header)
  std::string y_column;
  std::string title;            ///< empty: not in the key
  bool second_axis = false;     ///< plot against y2
  std::string style = "lines";  ///< gnuplot style: lines, points, linespoints, steps, band
  std::string color;            ///< e.g. "#1f77b4"; empty = gnuplot's default cycle
  double line_width = 1.5;
  /// 1 = opaque; smaller values draw the curve (or band) faint, e.g. 0.25 for a raw noisy trace
  /// under its smoothed version (needs a colour).
  double opacity = 1.0;
  /// With style "band": the area between y_column (lower edge) and y_high_column (upper edge) is
  /// filled, e.g. the spread over seeds around a mean line.
  std::string y_high_column;
};

/// One panel of a multi-panel figure: its own series, title, axes and marks.
struct Panel {
  std::string title;
  std::string y_label;
  std::string y2_label;  ///< non-empty enables the second axis
  bool log_y = false;
  bool log_y2 = false;
  /// The linear y2 axis starts at 0 (e.g. a rate that may be constant, which gnuplot would
  /// otherwise zoom into).
  bool y2_from_zero = false;
  std::vector<Series> series;
  std::vector<std::pair<double, double>> shaded;  ///< x intervals shaded in light red
  std::vector<double> vertical_lines;             ///< x positions of red vertical lines
};

/// A 2-D figure: one plot, or (panels non-empty) several panels stacked top to bottom sharing the
/// x axis (gnuplot multiplot), each with its own series, title, y axes and shaded intervals.
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
  int height = 600;  ///< of the whole image (all panels)
  /// Non-empty: a multiplot of these panels; y_label … vertical_lines above are then unused
  /// (title, subtitle, x_label and log_x are shared).
  std::vector<Panel> panels;
};

/// The geometric exponential moving average of a positive trace (a loss), as the catapult
/// detector smooths (analysis/catapult_detector.hpp): s_0 = v_0,
/// log s_t = smoothing·log s_{t−1} + (1 − smoothing)·log v_t. An entry that is not finite and > 0
/// gets NaN and leaves the average as it was. smoothing in [0, 1); throws InvalidArgument
/// otherwise.
/// The smoothing of the loss figures' smoothed trace drawn over the faint per-step loss: heavier
/// than the detector's (0.8 in the protocols), so that the level of a noisy mini-batch loss is
/// readable (an EMA over about 20 steps).
inline constexpr double kFigureLossSmoothing = 0.95;

[[nodiscard]] std::vector<double> smoothed_trace(std::span<const double> v, double smoothing);

/// `text` with the characters that gnuplot's enhanced text mode reads as markup (_ ^ @ & ~ { })
/// escaped, for a title or label that should appear as written (e.g. a schedule named
/// "cyclic_exp").
[[nodiscard]] std::string literal_text(const std::string& text);

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
