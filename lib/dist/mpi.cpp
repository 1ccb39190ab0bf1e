#include "catapult/dist/mpi.hpp"

#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace catapult::dist {
namespace {

bool g_active = false;
bool g_serialized = false;
Layout g_layout;

}  // namespace

void detail::check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw RuntimeError(
      str_cat("MPI: ", call, " failed: ", std::string(text, static_cast<std::size_t>(len))));
}

namespace {
using detail::check_mpi;

std::size_t affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
}

std::size_t online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

std::size_t env_threads() {
  const char* v = std::getenv("CATAPULT_THREADS_PER_RANK");
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (*end != '\0' || n == 0)
    throw InvalidArgument(
        str_cat("CATAPULT_THREADS_PER_RANK='", v, "' (expected a positive integer)"));
  return static_cast<std::size_t>(n);
}

Layout make_layout(int rank, int size, int local_rank, int local_size) {
  Layout l;
  l.rank = rank;
  l.size = size;
  l.local_rank = local_rank;
  l.local_size = local_size;
  l.cpus = affinity_cpus();
  const std::size_t share =
      std::max<std::size_t>(1, online_cpus() / static_cast<std::size_t>(local_size));
  l.threads = std::max<std::size_t>(1, std::min(l.cpus, share));
  if (const std::size_t forced = env_threads(); forced > 0) l.threads = forced;
  return l;
}

}  // namespace

void detail::wait_politely(MPI_Request& request) {
  int done = 0;
  for (;;) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done != 0) return;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

bool launched_by_mpi() noexcept {
  if (const char* force = std::getenv("CATAPULT_MPI"); force != nullptr && *force != '\0')
    return std::strcmp(force, "0") != 0;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

Session::Session(int* argc, char*** argv) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (g_active || initialized != 0 || finalized != 0)
    throw RuntimeError("dist::Session: MPI is already initialised (one Session per process)");
  int provided = 0;
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  // Errors come back as codes (turned into exceptions) instead of aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  try {
    int rank = 0, size = 1, local_rank = 0, local_size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
              "MPI_Comm_split_type");
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_size(node, &local_size);
    MPI_Comm_free(&node);
    g_layout = make_layout(rank, size, local_rank, local_size);  // may throw (bad environment)
  } catch (...) {
    MPI_Finalize();
    throw;
  }
  g_serialized = provided >= MPI_THREAD_SERIALIZED;
  g_active = true;
}

Session::~Session() {
  g_active = false;
  g_layout = Layout{};
  MPI_Finalize();
}

bool Session::active() noexcept { return g_active; }

void Session::abort(int code) noexcept {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

const Layout& layout() {
  if (!g_active) {
    static const Layout single = make_layout(0, 1, 0, 1);
    return single;
  }
  return g_layout;
}

int rank() { return g_active ? g_layout.rank : 0; }
int size() { return g_active ? g_layout.size : 1; }

bool detail::thread_serialized() noexcept { return g_serialized; }

void check_all(std::string_view what, bool ok, const std::string& message, bool usage) {
  if (!g_active || g_layout.size == 1) {
    if (!ok) throw CollectiveError(what.empty() ? message : str_cat(what, ": ", message), usage);
    return;
  }
  const int n = g_layout.size;
  // Each rank's status (ok, usage) and message length, then the messages of the failed ranks.
  int mine[3] = {ok ? 1 : 0, usage ? 1 : 0, ok ? 0 : static_cast<int>(message.size())};
  std::vector<int> all(static_cast<std::size_t>(3 * n));
  check_mpi(MPI_Allgather(mine, 3, MPI_INT, all.data(), 3, MPI_INT, MPI_COMM_WORLD),
            "MPI_Allgather");
  bool any_failed = false, any_usage = false;
  std::vector<int> counts(static_cast<std::size_t>(n)), displs(static_cast<std::size_t>(n));
  int total = 0;
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    any_failed = any_failed || all[3 * i] == 0;
    any_usage = any_usage || (all[3 * i] == 0 && all[3 * i + 1] != 0);
    counts[i] = all[3 * i + 2];
    displs[i] = total;
    total += counts[i];
  }
  if (!any_failed) return;
  std::string text(static_cast<std::size_t>(total), '\0');
  check_mpi(MPI_Allgatherv(message.data(), mine[2], MPI_CHAR, text.data(), counts.data(),
                           displs.data(), MPI_CHAR, MPI_COMM_WORLD),
            "MPI_Allgatherv");
  // One entry per distinct message, naming the ranks that report it (in rank order).
  std::vector<std::pair<std::string, std::string>> groups;  // message, ranks
  int failed = 0;
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    if (all[3 * i] != 0) continue;
    ++failed;
    std::string m =
        text.substr(static_cast<std::size_t>(displs[i]), static_cast<std::size_t>(counts[i]));
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == m; });
    if (it == groups.end())
      groups.emplace_back(std::move(m), str_cat(r));
    else
      it->second += str_cat(",", r);
  }
  std::string out = what.empty() ? std::string() : str_cat(what, ": ");
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string who = failed == n && groups.size() == 1 ? "every rank"
                            : groups[g].second.find(',') == std::string::npos
                                ? str_cat("rank ", groups[g].second)
                                : str_cat("ranks ", groups[g].second);
    out += str_cat(g == 0 ? "" : "; ", who, ": ", groups[g].first);
  }
  throw CollectiveError(out, any_usage);
}

std::uint64_t fingerprint(std::span<const std::byte> bytes) noexcept {
  std::uint64_t h = 14695981039346656037ULL;
  for (const std::byte b : bytes) {
    h ^= static_cast<std::uint64_t>(b);
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t fingerprint(std::string_view text) noexcept {
  return fingerprint(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void require_same_fingerprint(std::string_view what, std::uint64_t value) {
  if (!g_active || g_layout.size == 1) return;
  std::vector<std::uint64_t> all(static_cast<std::size_t>(g_layout.size));
  check_mpi(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
            "MPI_Allgather");
  std::string differ;
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differ += str_cat(differ.empty() ? "" : ", ", r);
  if (!differ.empty())
    throw CollectiveError(
        str_cat(what, ": not the same on every rank (rank(s) ", differ, " differ from rank 0)"),
        true);
}

void require_same(std::string_view what, std::string_view text) {
  require_same_fingerprint(what, fingerprint(text));
}

void allreduce_sum(std::span<float> values) {
  if (!g_active || g_layout.size == 1) return;
  for (std::size_t off = 0; off < values.size();) {
    const std::size_t n =
        std::min<std::size_t>(values.size() - off, std::numeric_limits<int>::max());
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data() + off, static_cast<int>(n), MPI_FLOAT,
                            MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce");
    off += n;
  }
}

void allreduce_sum(std::span<double> values) {
  if (!g_active || g_layout.size == 1) return;
  for (std::size_t off = 0; off < values.size();) {
    const std::size_t n =
        std::min<std::size_t>(values.size() - off, std::numeric_limits<int>::max());
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data() + off, static_cast<int>(n), MPI_DOUBLE,
                            MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce");
    off += n;
  }
}

void allgather(std::span<const double> block, std::span<double> all) {
  if (!g_active || g_layout.size == 1) {
    if (block.size() != all.size())
      throw InvalidArgument(
          str_cat("dist::allgather: block of ", block.size(), " into ", all.size()));
    std::copy(block.begin(), block.end(), all.begin());
    return;
  }
  const int n = g_layout.size;
  if (block.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw InvalidArgument(str_cat("dist::allgather: block of ", block.size(), " doubles"));
  const int mine = static_cast<int>(block.size());
  std::vector<int> counts(static_cast<std::size_t>(n)), displs(static_cast<std::size_t>(n));
  check_mpi(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD),
            "MPI_Allgather");
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += static_cast<std::size_t>(counts[r]);
  }
  if (total != all.size())
    throw InvalidArgument(
        str_cat("dist::allgather: blocks of ", total, " doubles into ", all.size()));
  check_mpi(MPI_Allgatherv(block.data(), mine, MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                           MPI_DOUBLE, MPI_COMM_WORLD),
            "MPI_Allgatherv");
}

std::string broadcast(std::string text) {
  if (!g_active || g_layout.size == 1) return text;
  std::uint64_t n = text.size();
  check_mpi(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(static_cast<std::size_t>(n));
  for (std::size_t off = 0; off < text.size();) {
    const std::size_t c = std::min<std::size_t>(text.size() - off, std::numeric_limits<int>::max());
    check_mpi(MPI_Bcast(text.data() + off, static_cast<int>(c), MPI_CHAR, 0, MPI_COMM_WORLD),
              "MPI_Bcast");
    off += c;
  }
  return text;
}

void barrier() {
  if (!g_active || g_layout.size == 1) return;
  MPI_Request request;
  check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &request), "MPI_Ibarrier");
  detail::wait_politely(request);
}

}  // namespace catapult::dist
