#include "catapult/dist/task_pool.hpp"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "catapult/dist/mpi.hpp"
#include "internal.hpp"

namespace catapult::dist {
namespace {

using detail::check_mpi;

// Messages: a worker sends kRequest with [index as int64, result text] (index −1 and no text on
// its first request); rank 0 answers kAssign with the next task index, or −1 when none is left.
constexpr int kRequest = 7101;
constexpr int kAssign = 7102;
constexpr std::int64_t kNone = -1;

// A request: the finished task's index (8 bytes) followed by its result.
std::vector<char> pack(std::int64_t index, const std::string& text) {
  std::vector<char> buf(sizeof index + text.size());
  std::memcpy(buf.data(), &index, sizeof index);
  std::memcpy(buf.data() + sizeof index, text.data(), text.size());
  return buf;
}

// The queue and the results on rank 0, shared by its worker (the caller's thread) and the
// server thread.
class Queue {
 public:
  Queue(std::span<const std::size_t> tasks,
        const std::function<void(std::size_t, const std::string&)>& on_result)
      : tasks_(tasks), on_result_(on_result) {}
  std::int64_t next() {
    const std::lock_guard lock(mutex_);
    if (abandoned_ || next_ >= tasks_.size()) return kNone;
    return static_cast<std::int64_t>(tasks_[next_++]);
  }
  void result(std::size_t index, const std::string& text) {
    const std::lock_guard lock(mutex_);
    on_result_(index, text);
  }
  // Rank 0's own worker failed: hand out nothing more (the job is about to be aborted).
  void abandon() {
    const std::lock_guard lock(mutex_);
    abandoned_ = true;
  }

 private:
  std::mutex mutex_;
  std::span<const std::size_t> tasks_;
  const std::function<void(std::size_t, const std::string&)>& on_result_;
  std::size_t next_ = 0;
  bool abandoned_ = false;
};

// Rank 0's server: answers every worker until each has been told there is nothing left.
void serve(Queue& queue, int workers, std::atomic<bool>& stop, std::exception_ptr& error) {
  try {
    int active = workers;
    std::vector<char> buf;
    while (active > 0 && !stop.load()) {
      int flag = 0;
      MPI_Status status;
      check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, kRequest, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
      if (flag == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      int count = 0;
      MPI_Get_count(&status, MPI_CHAR, &count);
      buf.resize(static_cast<std::size_t>(count));
      check_mpi(MPI_Recv(buf.data(), count, MPI_CHAR, status.MPI_SOURCE, kRequest, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE),
                "MPI_Recv");
      std::int64_t done = kNone;
      std::memcpy(&done, buf.data(), sizeof done);
      if (done != kNone)
        queue.result(static_cast<std::size_t>(done),
                     std::string(buf.data() + sizeof done, buf.size() - sizeof done));
      const std::int64_t next = queue.next();
      check_mpi(MPI_Send(&next, 1, MPI_INT64_T, status.MPI_SOURCE, kAssign, MPI_COMM_WORLD),
                "MPI_Send");
      if (next == kNone) --active;
    }
  } catch (...) {
    error = std::current_exception();
  }
}

}  // namespace

std::size_t run_task_pool(std::span<const std::size_t> tasks,
                          const std::function<std::string(std::size_t)>& work,
                          const std::function<void(std::size_t, const std::string&)>& on_result) {
  std::size_t ran = 0;
  if (!Session::active() || size() == 1) {
    for (const std::size_t i : tasks) {
      on_result(i, work(i));
      ++ran;
    }
    return ran;
  }
  if (rank() != 0) {
    std::vector<char> request = pack(kNone, {});
    for (;;) {
      check_mpi(MPI_Send(request.data(), static_cast<int>(request.size()), MPI_CHAR, 0, kRequest,
                         MPI_COMM_WORLD),
                "MPI_Send");
      std::int64_t index = kNone;
      MPI_Request pending;
      check_mpi(MPI_Irecv(&index, 1, MPI_INT64_T, 0, kAssign, MPI_COMM_WORLD, &pending),
                "MPI_Irecv");
      detail::wait_politely(pending);
      if (index == kNone) break;
      const auto i = static_cast<std::size_t>(index);
      request = pack(index, work(i));
      ++ran;
    }
    return ran;
  }
  // Rank 0: serve the others in a helper thread and work in this one. With less than
  // MPI_THREAD_SERIALIZED the helper may not call MPI while this thread could: only serve.
  Queue queue(tasks, on_result);
  std::atomic<bool> stop = false;
  std::exception_ptr server_error;
  if (!detail::thread_serialized()) {
    serve(queue, size() - 1, stop, server_error);
    if (server_error) std::rethrow_exception(server_error);
    return ran;
  }
  std::thread server(serve, std::ref(queue), size() - 1, std::ref(stop), std::ref(server_error));
  std::exception_ptr work_error;
  {
    try {
      for (std::int64_t index = queue.next(); index != kNone; index = queue.next()) {
        const auto i = static_cast<std::size_t>(index);
        queue.result(i, work(i));
        ++ran;
      }
    } catch (...) {
      work_error = std::current_exception();
      queue.abandon();
      stop = true;  // the caller aborts the job: the workers need no answer
    }
  }
  server.join();
  if (work_error) std::rethrow_exception(work_error);
  if (server_error) std::rethrow_exception(server_error);
  return ran;
}

}  // namespace catapult::dist
