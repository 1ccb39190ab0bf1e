// The catapult command-line program: parses, calls the public API, reports errors.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "catapult/core/error.hpp"
#include "catapult/core/version.hpp"
#include "command.hpp"
#ifdef CATAPULT_HAVE_MPI
#include "catapult/dist/mpi.hpp"
#endif

namespace catapult::app {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace catapult::app

namespace {

// Under mpirun, the commands that know how to share their work between the ranks; the others
// would run N times over the same files, so they are refused with more than one rank.
// `reproduce` checks its experiment itself: only the phase map runs under MPI.
bool runs_under_mpi(const std::string& command) {
  return command == "sweep" || command == "train" || command == "ntk" || command == "info" ||
         command == "reproduce";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace catapult::app;
#ifdef CATAPULT_HAVE_MPI
  // MPI only when a launcher started the program (catapult/dist/mpi.hpp), so a plain run never
  // initialises it.
  std::optional<catapult::dist::Session> mpi;
  if (catapult::dist::launched_by_mpi()) {
    try {
      mpi.emplace(&argc, &argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "catapult: error: %s\n", e.what());
      return kExitFailure;
    }
  }
  const bool many = mpi.has_value() && catapult::dist::size() > 1;
  const int rank = catapult::dist::rank();
  // An error every rank knows (dist::CollectiveError) is reported once by rank 0 and every rank
  // exits with its status; any other error of one rank is fatal for the job: reported naming the
  // rank, then MPI_Abort ends every rank (none is left waiting in a collective).
  auto fail = [&](const std::exception& e, int code) -> int {
    if (const auto* c = dynamic_cast<const catapult::dist::CollectiveError*>(&e)) {
      if (rank == 0) std::fprintf(stderr, "catapult: error: %s\n", e.what());
      return c->usage() ? kExitUsage : kExitFailure;
    }
    if (!many) {
      std::fprintf(stderr, "catapult: error: %s\n", e.what());
      return code;
    }
    std::fprintf(stderr, "catapult: error: rank %d of %d: %s\n", rank, catapult::dist::size(),
                 e.what());
    std::fflush(stderr);
    std::fflush(stdout);
    catapult::dist::Session::abort(code);
  };
#else
  const bool many = false;
  const int rank = 0;
  auto fail = [](const std::exception& e, int code) -> int {
    std::fprintf(stderr, "catapult: error: %s\n", e.what());
    return code;
  };
#endif
  CLI::App program{"catapult: catapults in SGD on multicore CPUs (version " CATAPULT_VERSION_STRING
                   ")"};
  program.require_subcommand(1);
  program.set_version_flag("--version", std::string(CATAPULT_VERSION_STRING));
  auto& registry = command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const CommandEntry& a, const CommandEntry& b) { return a.order < b.order; });
  for (const auto& entry : registry) entry.setup(program);
  // CLI11 reports an unknown command only as "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    std::string known;
    bool found = false;
    for (const auto* sub : program.get_subcommands([](CLI::App*) { return true; })) {
      found = found || sub->get_name() == word;
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      if (rank == 0)
        std::fprintf(stderr, "catapult: error: unknown command '%s' (commands: %s)\n", word.c_str(),
                     known.c_str());
      return kExitUsage;
    }
    if (many && !runs_under_mpi(word)) {
      if (rank == 0)
        std::fprintf(stderr,
                     "catapult: error: '%s' does not run under MPI with more than one rank "
                     "(distributed: sweep, train, ntk, reproduce phase-map); run it without "
                     "mpirun\n",
                     word.c_str());
      return kExitUsage;
    }
  }
  try {
    program.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same command line (a rank that parses another one fails the
    // configuration check of its command), so rank 0 speaks for all.
    if (rank != 0) return e.get_exit_code() == 0 ? 0 : kExitUsage;
    const int rc = program.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  } catch (const catapult::InvalidArgument& e) {
    return fail(e, kExitUsage);
  } catch (const std::exception& e) {
    return fail(e, kExitFailure);
  }
  // Report a failed write to standard output (full disk, closed pipe) instead of losing it in
  // stdio's buffer at exit.
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "catapult: error: cannot write standard output: %s\n",
                 std::strerror(errno));
    return kExitFailure;
  }
  return 0;
}
