#include "catapult/train/observers.hpp"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "catapult/core/error.hpp"

namespace catapult::train {
namespace {

std::string num(double x) {
  if (std::isnan(x)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

nlohmann::json json_num(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

std::ofstream open_out(const std::filesystem::path& path) {
  std::ofstream f(path, std::ios::out | std::ios::trunc);
  if (!f) throw IoError(str_cat("cannot open '", path.string(), "' for writing"));
  return f;
}

}  // namespace

namespace {

// Rewrites a CSV log keeping its header and the rows whose first field (the step) is < step;
// a last line without its newline (cut by a kill) is dropped too.
void truncate_log(const std::filesystem::path& path, std::uint64_t step, const char* header) {
  std::ifstream in(path);
  if (!in) throw IoError(str_cat("cannot resume the log '", path.string(), "': cannot read it"));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::string kept = std::string(header) + "\n";
  std::size_t pos = text.find('\n');  // skip the header
  while (pos != std::string::npos && pos + 1 < text.size()) {
    const std::size_t end = text.find('\n', pos + 1);
    if (end == std::string::npos) break;
    const std::string line = text.substr(pos + 1, end - pos - 1);
    if (std::stoull(line.substr(0, line.find(','))) < step) kept += line + "\n";
    pos = end;
  }
  std::ofstream out(path, std::ios::out | std::ios::trunc);
  out << kept;
  if (!out.flush())
    throw IoError(str_cat("cannot resume the log '", path.string(), "': write failed"));
}

constexpr const char* kStepsHeader = "step,epoch,loss,lr,grad_norm";
constexpr const char* kEvalsHeader = "step,epoch,train_loss,test_loss,test_accuracy";

std::ofstream open_log(const std::filesystem::path& path, std::uint64_t resume_step,
                       const char* header) {
  if (resume_step == 0) {
    auto f = open_out(path);
    f << header << '\n';
    return f;
  }
  truncate_log(path, resume_step, header);
  std::ofstream f(path, std::ios::out | std::ios::app);
  if (!f) throw IoError(str_cat("cannot open '", path.string(), "' for writing"));
  return f;
}

}  // namespace

CsvLogger::CsvLogger(const std::filesystem::path& steps_path,
                     const std::filesystem::path& evals_path, std::uint64_t log_every,
                     std::uint64_t resume_step)
    : steps_path_(steps_path), evals_path_(evals_path), log_every_(log_every) {
  if (log_every == 0) throw InvalidArgument("CsvLogger: log_every is 0");
  steps_ = open_log(steps_path, resume_step, kStepsHeader);
  evals_ = open_log(evals_path, resume_step, kEvalsHeader);
}

void CsvLogger::on_step(const StepInfo& s) {
  if (s.step % log_every_ != 0) return;
  steps_ << s.step << ',' << s.epoch << ',' << num(s.loss) << ',' << num(s.lr) << ','
         << num(s.grad_norm) << '\n';
}

void CsvLogger::on_eval(const EvalInfo& e) {
  evals_ << e.step << ',' << e.epoch << ',' << num(e.train_loss) << ',' << num(e.test_loss) << ','
         << num(e.test_accuracy) << '\n';
  flush();
}

void CsvLogger::on_end(const TrainResult& /*result*/) { flush(); }

void CsvLogger::flush() {
  if (!steps_.flush())
    throw IoError(str_cat("cannot write the log '", steps_path_.string(),
                          "' (disk full or file size limit?)"));
  if (!evals_.flush())
    throw IoError(str_cat("cannot write the log '", evals_path_.string(),
                          "' (disk full or file size limit?)"));
}

JsonSummary::JsonSummary(std::filesystem::path path, std::string config_json,
                         std::vector<EvalInfo> earlier_evals)
    : path_(std::move(path)),
      config_json_(std::move(config_json)),
      evals_(std::move(earlier_evals)) {
  if (!config_json_.empty() && !nlohmann::json::accept(config_json_))
    throw InvalidArgument("JsonSummary: the config is not valid JSON");
}

void JsonSummary::on_start(const RunInfo& info) { num_params_ = info.num_params; }

void JsonSummary::on_eval(const EvalInfo& info) { evals_.push_back(info); }

void JsonSummary::on_end(const TrainResult& r) {
  nlohmann::json j;
  j["status"] = to_string(r.status);
  j["message"] = r.message;
  j["steps"] = r.steps;
  j["epochs"] = r.epochs;
  j["seconds"] = r.seconds;
  j["last_loss"] = json_num(r.last_loss);
  j["test_loss"] = json_num(r.test_loss);
  j["test_accuracy"] = json_num(r.test_accuracy);
  j["num_params"] = num_params_;
  auto evals = nlohmann::json::array();
  for (const auto& e : evals_)
    evals.push_back({{"step", e.step},
                     {"epoch", e.epoch},
                     {"train_loss", json_num(e.train_loss)},
                     {"test_loss", json_num(e.test_loss)},
                     {"test_accuracy", json_num(e.test_accuracy)}});
  j["evals"] = std::move(evals);
  if (!config_json_.empty()) j["config"] = nlohmann::json::parse(config_json_);
  std::ofstream f = open_out(path_);
  f << j.dump(2) << '\n';
  f.flush();
  if (!f) throw IoError(str_cat("cannot write '", path_.string(), "'"));
}

ProgressObserver::ProgressObserver(std::ostream& out, bool tty, std::uint64_t every)
    : out_(out), tty_(tty), every_(every) {}

void ProgressObserver::on_start(const RunInfo& info) {
  total_ = info.total_steps;
  if (every_ == 0) every_ = std::max<std::uint64_t>(1, total_ / 20);
  out_ << "training: " << info.total_steps << " steps (" << info.steps_per_epoch << " per epoch), "
       << info.num_params << " parameters, " << info.train_size << " training samples\n";
}

void ProgressObserver::on_step(const StepInfo& s) {
  const std::uint64_t done = s.step + 1;
  if (tty_) {
    // Redraw about 200 times per run at most.
    const std::uint64_t stride = std::max<std::uint64_t>(1, total_ / 200);
    if (done % stride != 0 && done != total_) return;
    const int width = 30;
    const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(width), ' ');
    for (int i = 0; i < filled; ++i) bar[static_cast<std::size_t>(i)] = '=';
    if (filled < width) bar[static_cast<std::size_t>(filled)] = '>';
    char line[160];
    std::snprintf(line, sizeof line, "\r[%s] %3d%%  step %llu/%llu  epoch %llu  loss %.5g  lr %.4g",
                  bar.c_str(), static_cast<int>(frac * 100), static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total_), static_cast<unsigned long long>(s.epoch),
                  s.loss, s.lr);
    out_ << line << std::flush;
    line_open_ = true;
  } else if (done % every_ == 0 || done == total_) {
    char line[160];
    std::snprintf(line, sizeof line, "step %llu/%llu  epoch %llu  loss %.6g  lr %.4g  |g| %.4g\n",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                  static_cast<unsigned long long>(s.epoch), s.loss, s.lr, s.grad_norm);
    out_ << line;
  }
}

void ProgressObserver::on_eval(const EvalInfo& e) {
  if (line_open_) out_ << '\n';
  line_open_ = false;
  char line[160];
  std::snprintf(line, sizeof line, "eval at step %llu: test loss %.6g  test accuracy %.2f%%\n",
                static_cast<unsigned long long>(e.step), e.test_loss, 100.0 * e.test_accuracy);
  out_ << line << std::flush;
}

void ProgressObserver::on_end(const TrainResult& r) {
  if (line_open_) out_ << '\n';
  line_open_ = false;
  out_ << to_string(r.status) << ": " << r.message << " in " << num(r.seconds) << " s\n"
       << std::flush;
}

}  // namespace catapult::train
