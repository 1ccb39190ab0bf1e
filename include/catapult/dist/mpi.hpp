#pragma once
/// @file The optional MPI layer (Open MPI; library catapult::dist, built only when CMake finds
/// MPI): one session per process, the rank layout and the collective error discipline every
/// distributed command follows. MPI itself stays behind this interface (no <mpi.h> here); every
/// collective acts on MPI_COMM_WORLD.
///
/// Errors under MPI: a failure every rank sees together (a bad flag, a mismatched configuration,
/// an output directory one rank cannot write) is turned into a CollectiveError on EVERY rank by
/// check_all, so rank 0 reports it once and all ranks exit with the same status; anything else a
/// single rank throws is fatal for the job (the program reports it naming the rank and calls
/// Session::abort, which ends every rank: no rank waits forever in a collective).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/core/error.hpp"

namespace catapult::dist {

/// True when an MPI launcher started this process (mpirun/mpiexec of Open MPI, or srun and other
/// PMI/PMIx launchers: OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_RANK is set). CATAPULT_MPI=0 in the
/// environment forces false, CATAPULT_MPI=1 forces true (a singleton MPI job).
[[nodiscard]] bool launched_by_mpi() noexcept;

/// Where this process sits: its rank, the ranks on its node, and the threads each rank should
/// use so that the node's cores are shared out (threads = max(1, min(cpus this process may run
/// on, online cpus / ranks on the node)); CATAPULT_THREADS_PER_RANK overrides it).
struct Layout {
  int rank = 0;
  int size = 1;
  int local_rank = 0;       ///< rank among the processes on this node
  int local_size = 1;       ///< processes on this node
  std::size_t cpus = 1;     ///< cpus this process may run on (its affinity mask)
  std::size_t threads = 1;  ///< threads per rank (see above)
};

/// MPI_Init_thread (MPI_THREAD_SERIALIZED requested) for the life of the object, MPI_Finalize
/// after. At most one per process; a second one, or one after MPI was finalized, throws
/// RuntimeError.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;

  /// True between the construction and the destruction of the process's Session.
  [[nodiscard]] static bool active() noexcept;
  /// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
  [[noreturn]] static void abort(int code) noexcept;
};

/// The layout of this process (rank 0 of 1, all cpus, when no Session is active).
[[nodiscard]] const Layout& layout();
/// layout().rank and layout().size.
[[nodiscard]] int rank();
[[nodiscard]] int size();

/// A failure that every rank knows about: every rank throws it with the same message.
class CollectiveError : public RuntimeError {
 public:
  CollectiveError(const std::string& message, bool usage) : RuntimeError(message), usage_(usage) {}
  /// True for a caller mistake (the program exits with its usage status, 2).
  [[nodiscard]] bool usage() const noexcept { return usage_; }

 private:
  bool usage_;
};

/// Collective: each rank says whether its part succeeded (message says why not). If any failed,
/// every rank throws CollectiveError("<what>: rank r: <message>; ranks s,t: …"), naming every
/// failed rank ("every rank: <message>" when all failed alike; no "<what>: " when what is
/// empty); usage marks it a caller mistake when any failed rank says so.
void check_all(std::string_view what, bool ok, const std::string& message = {}, bool usage = false);

/// Collective: runs f() on every rank and turns an exception on any rank into a CollectiveError
/// on all of them (check_all; InvalidArgument counts as a caller mistake).
template <class F>
void collectively(std::string_view what, F&& f) {
  if (size() == 1) {  // one rank: its exception as it is
    f();
    return;
  }
  bool ok = true, usage = false;
  std::string message;
  try {
    f();
  } catch (const InvalidArgument& e) {
    ok = false;
    usage = true;
    message = e.what();
  } catch (const std::exception& e) {
    ok = false;
    message = e.what();
  }
  check_all(what, ok, message, usage);
}

/// 64-bit FNV-1a of bytes (what require_same and the parameter checks compare).
[[nodiscard]] std::uint64_t fingerprint(std::span<const std::byte> bytes) noexcept;
[[nodiscard]] std::uint64_t fingerprint(std::string_view text) noexcept;

/// Collective: throws CollectiveError (a caller mistake) on every rank unless every rank passed
/// the same text, naming `what` and the ranks whose text differs from rank 0's.
void require_same(std::string_view what, std::string_view text);

/// Collective: the same fingerprint on every rank, else CollectiveError naming the ranks that
/// differ from rank 0 and `what`.
void require_same_fingerprint(std::string_view what, std::uint64_t value);

/// Collective: element-wise sums over the ranks, in place (MPI_Allreduce, MPI_SUM).
void allreduce_sum(std::span<float> values);
void allreduce_sum(std::span<double> values);

/// Collective: every rank's block concatenated in rank order (MPI_Allgatherv); blocks may have
/// different lengths.
void allgather(std::span<const double> block, std::span<double> all);

/// Collective: rank 0's text on every rank (MPI_Bcast).
[[nodiscard]] std::string broadcast(std::string text);

/// Collective: waits for every rank without spinning a core (MPI_Ibarrier polled with short
/// sleeps), so a rank that is done does not slow the ranks still computing on a shared node.
void barrier();

}  // namespace catapult::dist
