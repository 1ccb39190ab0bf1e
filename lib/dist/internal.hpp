#pragma once
// Private helpers of the MPI layer (lib/dist only).
#include <mpi.h>

namespace catapult::dist::detail {

/// Throws RuntimeError naming the call and MPI's error text unless rc is MPI_SUCCESS.
void check_mpi(int rc, const char* call);
/// True when MPI granted MPI_THREAD_SERIALIZED or more.
[[nodiscard]] bool thread_serialized() noexcept;
/// Completes a request polling it with short sleeps (Open MPI's blocking waits spin a core).
void wait_politely(MPI_Request& request);

}  // namespace catapult::dist::detail
