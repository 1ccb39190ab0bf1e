// `catapult data-summary`: load a dataset (verifying MNIST's checksums) and summarize it.
#include <cstdio>
#include <memory>
#include <string>

#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "command.hpp"
#include "data_summary.hpp"

namespace catapult::app {
namespace {

struct SummaryArgs {
  std::string dir;
  std::string dataset = "mnist";
  bool no_verify = false;
  bool standardize = false;
};

void run_summary(const SummaryArgs& args) {
  data::LoadOptions options;
  options.verify_checksums = !args.no_verify;
  if (args.standardize) options.normalization = data::Normalization::Standardize;
  if (args.dataset == "mnist") {
    const auto dir = args.dir.empty() ? data::default_mnist_dir() : std::filesystem::path(args.dir);
    print_splits_summary(data::load_mnist(dir, options));
  } else {
    const std::filesystem::path dir = args.dir.empty() ? data::kFashionMnistDir : args.dir;
    print_splits_summary(data::load_fashion_mnist(dir, options));
  }
}

const CommandRegistrar kDataSummary{
    11, [](CLI::App& program) {
      auto args = std::make_shared<SummaryArgs>();
      auto* cmd = program.add_subcommand(
          "data-summary", "Load MNIST or Fashion-MNIST and print counts, labels and pixel stats");
      cmd->add_option("--dir", args->dir,
                      "Dataset directory (default: the fetch-data cache for mnist, "
                      "/usr/share/datasets/fashion-mnist for fashion-mnist)");
      cmd->add_option("--dataset", args->dataset, "mnist or fashion-mnist")
          ->check(CLI::IsMember({"mnist", "fashion-mnist"}));
      cmd->add_flag("--no-verify", args->no_verify, "Skip the SHA-256 check of the MNIST files");
      cmd->add_flag("--standardize", args->standardize,
                    "Standardize pixels with the training mean and std before summarizing");
      cmd->callback([args] { run_summary(*args); });
    }};

}  // namespace
}  // namespace catapult::app
