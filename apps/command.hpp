#pragma once
// Subcommand registry of the catapult program. Each cmd_*.cpp registers itself with a static
// CommandRegistrar, so a new subcommand is a new file and nothing else changes.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace catapult::app {

/// Adds one subcommand (with its options and callback) to the program.
using CommandSetup = std::function<void(CLI::App& program)>;

struct CommandEntry {
  int order;  ///< position in --help
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(int order, CommandSetup setup) {
    command_registry().push_back({order, std::move(setup)});
  }
};

/// Exit status of the program for a caller mistake (bad flag, bad config value).
inline constexpr int kExitUsage = 2;
/// Exit status for a run-time failure (I/O, corrupt data, diverging run).
inline constexpr int kExitFailure = 1;

}  // namespace catapult::app
