#pragma once
/// @file Dynamic scheduling of independent tasks over the ranks (what `catapult sweep` runs
/// under mpirun): a rank that finishes a task takes the next one, so runs of unequal length
/// keep every rank busy.
///
/// Protocol: rank 0 owns the queue. It serves requests from the other ranks in a helper thread
/// (MPI_Iprobe polled with 1 ms sleeps, so it costs no core) and works on tasks itself in the
/// calling thread; a worker's request carries the result of its previous task, so results reach
/// rank 0 as they are produced (on_result), not only at the end. Requires MPI_THREAD_SERIALIZED
/// (Session asks for it); where the MPI library gives less, rank 0 only serves.

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace catapult::dist {

/// Runs work(i) once for every i in `tasks` (indices, in the order they are handed out),
/// spread over the ranks. Collective: every rank passes the same tasks. on_result(i, text) is
/// called on rank 0 only, one call at a time (never concurrently), for every task, with what
/// work(i) returned on whichever rank ran it. Returns the number of tasks this rank ran.
/// An exception from work or on_result is fatal for the job: it propagates out of this call on
/// the rank that threw (the caller reports it and calls Session::abort); the other ranks are
/// left waiting for that abort. Without an active Session, runs every task here in order.
std::size_t run_task_pool(std::span<const std::size_t> tasks,
                          const std::function<std::string(std::size_t)>& work,
                          const std::function<void(std::size_t, const std::string&)>& on_result);

}  // namespace catapult::dist
