#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "catapult/core/error.hpp"
#include "output.hpp"
#include "protocol.hpp"

namespace catapult::app::reproduce {
namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::size_t column_index(const std::filesystem::path& csv, const std::string& name) {
  std::ifstream in(csv);
  if (!in) throw IoError(str_cat("plot: cannot open ", csv));
  std::string header;
  std::getline(in, header);
  std::stringstream ss(header);
  std::string cell;
  for (std::size_t i = 1; std::getline(ss, cell, ','); ++i)
    if (cell == name) return i;
  throw InvalidArgument(str_cat("plot: no column '", name, "' in ", csv));
}

}  // namespace

bool gnuplot_available() {
  static const bool available = std::system("gnuplot --version > /dev/null 2>&1") == 0;
  return available;
}

void require_gnuplot() {
  if (!gnuplot_available())
    throw RuntimeError(
        "gnuplot not found: the figures need it (Debian: apt-get install gnuplot-nox, see "
        "scripts/setup.sh); use --no-figures to write only CSV/JSON");
}

namespace {

// gnuplot's "#AARRGGBB" (AA = transparency) for a colour "#RRGGBB" drawn with this opacity.
std::string with_opacity(const std::string& color, double opacity) {
  if (opacity >= 1.0 || color.size() != 7 || color[0] != '#') return color;
  const int alpha = static_cast<int>(std::lround(255.0 * (1.0 - std::clamp(opacity, 0.0, 1.0))));
  return format("#%02X%s", alpha, color.substr(1).c_str());
}

// The axes, marks and plot command of one panel (a whole single-panel figure).
void write_panel(std::ostringstream& gp, const Panel& panel, const std::filesystem::path& dir) {
  gp << "set ylabel " << quote(panel.y_label) << "\n";
  if (panel.log_y) gp << "set logscale y\n";
  if (!panel.y2_label.empty()) {
    gp << "set y2label " << quote(panel.y2_label) << "\n";
    gp << "set y2tics\nset ytics nomirror\n";
    if (panel.log_y2) gp << "set logscale y2\n";
    if (panel.y2_from_zero && !panel.log_y2) {
      // From 0 to 1.1 × the largest value of the y2 series (gnuplot's autoscale would put a
      // constant rate on the top border).
      gp << "y2max = 0\n";
      for (const auto& s : panel.series) {
        if (!s.second_axis) continue;
        const auto csv_path = s.csv.is_absolute() ? s.csv : dir / s.csv;
        gp << "stats " << quote(s.csv.string()) << " using " << column_index(csv_path, s.y_column)
           << " nooutput name 'Y2S'\ny2max = Y2S_max > y2max ? Y2S_max : y2max\n";
      }
      gp << "set y2range [0:(y2max > 0 ? 1.1 * y2max : 1)]\n";
    }
  }
  int object = 1;
  for (const auto& [x0, x1] : panel.shaded)
    gp << "set object " << object++ << " rect from " << x0 << ", graph 0 to " << x1
       << ", graph 1 behind fc rgb '#ff9999' fs transparent solid 0.35 noborder\n";
  for (const double x : panel.vertical_lines)
    gp << "set arrow from " << x << ", graph 0 to " << x
       << ", graph 1 nohead lc rgb 'red' lw 1.2 front\n";
  gp << "plot ";
  for (std::size_t i = 0; i < panel.series.size(); ++i) {
    const auto& s = panel.series[i];
    const auto csv_path = s.csv.is_absolute() ? s.csv : dir / s.csv;
    const std::size_t xc = column_index(csv_path, s.x_column);
    const std::size_t yc = column_index(csv_path, s.y_column);
    if (i > 0) gp << ", \\\n     ";
    gp << quote(s.csv.string()) << " using " << xc << ":" << yc;
    const std::string color = with_opacity(s.color, s.opacity);
    if (s.style == "band") {
      if (s.y_high_column.empty())
        throw InvalidArgument(str_cat("plot: band series '", s.title, "' has no y_high_column"));
      gp << ":" << column_index(csv_path, s.y_high_column) << " with filledcurves";
      gp << " fs transparent solid " << format("%.2f", std::clamp(s.opacity, 0.0, 1.0))
         << " noborder";
      if (!s.color.empty()) gp << " lc rgb " << quote(s.color);
    } else {
      gp << " with " << s.style;
      if (s.style != "points") gp << " lw " << s.line_width;
      if (!color.empty()) gp << " lc rgb " << quote(color);
    }
    gp << " axes " << (s.second_axis ? "x1y2" : "x1y1");
    if (s.title.empty())
      gp << " notitle";
    else
      gp << " title " << quote(s.title);
  }
  gp << "\n";
}

// Back to the shared settings before the next panel.
void reset_panel(std::ostringstream& gp) {
  gp << "unset object\nunset arrow\nunset logscale y\nunset logscale y2\nunset y2tics\n"
        "unset y2label\nset y2range [*:*]\nset ytics mirror\n";
}

}  // namespace

std::string literal_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '_' || c == '^' || c == '@' || c == '&' || c == '~' || c == '{' || c == '}')
      out += '\\';
    out += c;
  }
  return out;
}

std::vector<double> smoothed_trace(std::span<const double> v, double smoothing) {
  if (!(smoothing >= 0.0 && smoothing < 1.0))
    throw InvalidArgument(format("smoothed_trace: smoothing %g is not in [0, 1)", smoothing));
  std::vector<double> out(v.size(), std::nan(""));
  double log_s = std::nan("");
  for (std::size_t t = 0; t < v.size(); ++t) {
    if (!std::isfinite(v[t]) || !(v[t] > 0.0)) continue;
    const double l = std::log(v[t]);
    log_s = std::isnan(log_s) ? l : smoothing * log_s + (1.0 - smoothing) * l;
    out[t] = std::exp(log_s);
  }
  return out;
}

std::string gnuplot_script(const Figure& figure, const std::filesystem::path& dir,
                           const std::string& png_name) {
  std::ostringstream gp;
  gp << "# Generated by `catapult reproduce`; render with: gnuplot "
     << "<this file>\n";
  gp << "set terminal pngcairo size " << figure.width << "," << figure.height
     << " enhanced font 'Sans,11'\n";
  gp << "if (!exists(\"outfile\")) outfile = " << quote(png_name) << "\n";
  gp << "set output outfile\n";
  gp << "set datafile separator ','\n";
  gp << "set datafile missing 'nan'\n";
  // The title in gnuplot's double quotes: quoted like every string, the subtitle on a second,
  // smaller line.
  std::string title = quote(figure.title);
  title.pop_back();
  if (!figure.subtitle.empty()) {
    const std::string sub = quote(figure.subtitle);
    title += "\\n{/*0.8 " + sub.substr(1, sub.size() - 2) + "}";
  }
  title += '"';
  gp << "set grid\n";
  if (figure.log_x) gp << "set logscale x 2\n";
  if (figure.panels.empty()) {
    gp << "set title " << title << "\n";
    gp << "set xlabel " << quote(figure.x_label) << "\n";
    gp << "set key outside bottom center horizontal\n";
    Panel single;
    single.y_label = figure.y_label;
    single.y2_label = figure.y2_label;
    single.log_y = figure.log_y;
    single.log_y2 = figure.log_y2;
    single.series = figure.series;
    single.shaded = figure.shaded;
    single.vertical_lines = figure.vertical_lines;
    write_panel(gp, single, dir);
    return gp.str();
  }
  // Stacked panels with fixed margins (in pixels, as screen fractions), so that their x axes line
  // up and the figure's two-line title, each panel's title and its key (rows just above the
  // panel, the title lifted over them; inside, the key would hide curves) have room.
  const double w = figure.width, h = figure.height;
  gp << "set key horizontal center bottom at graph 0.5, graph 1.01 font ',9' samplen 2 "
        "spacing 0.9\n";
  gp << "set multiplot layout " << figure.panels.size() << ",1 title " << title
     << format(" margins %.4f, %.4f, %.4f, %.4f spacing 0, %.4f\n", 90.0 / w, 1.0 - 95.0 / w,
               55.0 / h, 1.0 - 120.0 / h, 95.0 / h);
  for (std::size_t i = 0; i < figure.panels.size(); ++i) {
    const auto& panel = figure.panels[i];
    gp << "# panel " << i + 1 << "\n";
    gp << "set title " << quote(panel.title) << " font ',10' offset 0,1.1\n";
    gp << "set xlabel " << quote(i + 1 == figure.panels.size() ? figure.x_label : "") << "\n";
    write_panel(gp, panel, dir);
    reset_panel(gp);
  }
  gp << "unset multiplot\n";
  return gp.str();
}

void render_figure(const Figure& figure, const std::filesystem::path& dir,
                   const std::string& name) {
  require_gnuplot();
  const std::string png = name + ".png";
  // Rendered to a temporary name and renamed, like every other output (no half-written PNG).
  write_file_atomic(dir / (name + ".gp"), gnuplot_script(figure, dir, png));
  // gnuplot resolves the relative CSV and PNG names from its working directory.
  const std::string command =
      str_cat("cd ", quote(dir.string()), " && gnuplot -e \"outfile='", png, ".tmp'\" ",
              quote(name + ".gp"), " > ", quote(name + ".gp.log"), " 2>&1");
  if (std::system(command.c_str()) != 0)
    throw RuntimeError(str_cat("gnuplot failed on ", dir / (name + ".gp"), " (see ",
                               dir / (name + ".gp.log"), ")"));
  std::error_code ec;
  std::filesystem::rename(dir / (png + ".tmp"), dir / png, ec);
  if (ec) throw IoError(str_cat("cannot rename ", dir / (png + ".tmp"), ": ", ec.message()));
  std::filesystem::remove(dir / (name + ".gp.log"), ec);
}

}  // namespace catapult::app::reproduce
