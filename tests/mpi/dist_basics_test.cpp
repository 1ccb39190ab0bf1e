// The MPI layer's collectives and error discipline, run under mpirun with 2 and 4 ranks: every
// rank checks what it receives against what it can compute alone.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "catapult/dist/data_parallel.hpp"
#include "catapult/dist/mpi.hpp"
#include "catapult/dist/task_pool.hpp"

namespace catapult::dist {
namespace {

TEST(DistLayout, MatchesTheLauncher) {
  // Open MPI tells every process the job's size; all ranks run on this one node.
  const char* env = std::getenv("OMPI_COMM_WORLD_SIZE");
  ASSERT_NE(env, nullptr) << "run this program with mpirun";
  EXPECT_EQ(size(), std::atoi(env));
  EXPECT_EQ(rank(), std::atoi(std::getenv("OMPI_COMM_WORLD_RANK")));
  const Layout& l = layout();
  EXPECT_EQ(l.local_size, l.size);
  EXPECT_EQ(l.local_rank, l.rank);
  EXPECT_GE(l.threads, 1U);
  EXPECT_LE(l.threads, l.cpus);
  // The ranks of a node never ask for more threads in all than the node has cpus (but 1 each).
  const auto online = std::thread::hardware_concurrency();
  if (online > 0 && std::getenv("CATAPULT_THREADS_PER_RANK") == nullptr) {
    EXPECT_LE(l.threads * static_cast<std::size_t>(l.local_size),
              std::max<std::size_t>(online, static_cast<std::size_t>(l.local_size)));
  }
}

TEST(DistCheckAll, EveryRankReportsTheFailedRanksMessages) {
  const int last = size() - 1;
  try {
    check_all("setup", rank() != last, rank() == last ? "disk full" : "");
    FAIL() << "no error on rank " << rank();
  } catch (const CollectiveError& e) {
    EXPECT_EQ(std::string(e.what()), "setup: rank " + std::to_string(last) + ": disk full");
    EXPECT_FALSE(e.usage());
  }
  try {
    check_all("", false, "bad flag", rank() == 0);
    FAIL() << "no error on rank " << rank();
  } catch (const CollectiveError& e) {
    EXPECT_EQ(std::string(e.what()), "every rank: bad flag");
    EXPECT_TRUE(e.usage());  // rank 0 said so
  }
  EXPECT_NO_THROW(check_all("fine", true));
}

TEST(DistCheckAll, CollectivelyTurnsOneRanksExceptionIntoEveryRanksError) {
  try {
    collectively("load", [] {
      if (rank() == 0) throw InvalidArgument("no such file");
    });
    FAIL();
  } catch (const CollectiveError& e) {
    EXPECT_EQ(std::string(e.what()), "load: rank 0: no such file");
    EXPECT_TRUE(e.usage());
  }
}

TEST(DistRequireSame, NamesTheRanksThatDiffer) {
  EXPECT_NO_THROW(require_same("config", "same text"));
  const int last = size() - 1;
  try {
    require_same("config", rank() == last ? "other" : "same");
    FAIL();
  } catch (const CollectiveError& e) {
    EXPECT_EQ(std::string(e.what()), "config: not the same on every rank (rank(s) " +
                                         std::to_string(last) + " differ from rank 0)");
  }
}

TEST(DistAllreduce, SumsSmallIntegersExactly) {
  // Exact tier: every partial sum of small integers is exact in float, in any order.
  std::vector<float> f(1000);
  std::vector<double> d(3);
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i % 7 + rank());
  d = {1.0, static_cast<double>(rank()), 0.5};
  allreduce_sum(f);
  allreduce_sum(d);
  const int n = size();
  const double ranks_sum = n * (n - 1) / 2.0;
  for (std::size_t i = 0; i < f.size(); ++i)
    ASSERT_EQ(f[i], static_cast<float>(n * static_cast<double>(i % 7) + ranks_sum)) << i;
  EXPECT_EQ(d[0], n);
  EXPECT_EQ(d[1], ranks_sum);
  EXPECT_EQ(d[2], 0.5 * n);
}

TEST(DistAllgather, ConcatenatesUnequalBlocksInRankOrder) {
  // Rank r contributes r + 1 values r·100 + j.
  std::vector<double> mine(static_cast<std::size_t>(rank()) + 1);
  for (std::size_t j = 0; j < mine.size(); ++j) mine[j] = rank() * 100.0 + static_cast<double>(j);
  const auto n = static_cast<std::size_t>(size());
  std::vector<double> all(n * (n + 1) / 2);
  allgather(mine, all);
  std::size_t at = 0;
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j <= r; ++j) EXPECT_EQ(all[at++], static_cast<double>(r * 100 + j));
  EXPECT_EQ(broadcast(rank() == 0 ? "from rank 0" : "ignored"), "from rank 0");
}

TEST(DistShardRange, CoversEveryItemOnceInRankOrder) {
  for (std::size_t n : {0U, 1U, 3U, 10U, 128U, 60000U})
    for (int s : {1, 2, 3, 4, 7}) {
      std::size_t next = 0;
      for (int r = 0; r < s; ++r) {
        const auto [lo, hi] = shard_range(n, r, s);
        EXPECT_EQ(lo, next);
        EXPECT_LE(hi - lo, n / static_cast<std::size_t>(s) + 1);
        EXPECT_GE(hi - lo, n / static_cast<std::size_t>(s));
        next = hi;
      }
      EXPECT_EQ(next, n);
    }
  EXPECT_THROW((void)shard_range(10, 2, 2), InvalidArgument);
}

TEST(DistTaskPool, RunsEveryTaskOnceAndGathersTheResultsOnRankZero) {
  std::vector<std::size_t> tasks;
  for (std::size_t i = 0; i < 23; ++i) tasks.push_back((i * 7) % 23);  // any order
  std::map<std::size_t, std::string> results;
  const std::size_t ran = run_task_pool(
      tasks,
      [](std::size_t i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return std::to_string(i * i) + "@" + std::to_string(rank());
      },
      [&](std::size_t i, const std::string& text) {
        EXPECT_EQ(rank(), 0);
        EXPECT_TRUE(results.emplace(i, text).second) << "task " << i << " twice";
      });
  double total = static_cast<double>(ran);
  allreduce_sum(std::span<double>(&total, 1));
  EXPECT_EQ(total, 23.0);
  if (rank() == 0) {
    ASSERT_EQ(results.size(), 23U);
    for (const auto& [i, text] : results)
      EXPECT_EQ(text.substr(0, text.find('@')), std::to_string(i * i));
  } else {
    EXPECT_TRUE(results.empty());
  }
  barrier();
}

TEST(DistTaskPool, HandsOutTasksDynamically) {
  // Task 0 takes 400 ms, the 12 others 20 ms each: a static split would give every rank the
  // same number of tasks; with dynamic scheduling the rank holding task 0 runs fewer (with 2
  // ranks: task 0 alone, or with 1–2 short ones, while the other rank runs the rest).
  std::vector<std::size_t> tasks(13);
  for (std::size_t i = 0; i < tasks.size(); ++i) tasks[i] = i;
  bool had_long = false;
  const std::size_t ran = run_task_pool(
      tasks,
      [&](std::size_t i) {
        had_long = had_long || i == 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(i == 0 ? 400 : 20));
        return std::string();
      },
      [](std::size_t, const std::string&) {});
  std::vector<double> count(static_cast<std::size_t>(size()), 0.0), long_rank(1, 0.0);
  count[static_cast<std::size_t>(rank())] = static_cast<double>(ran);
  if (had_long) long_rank[0] = rank();
  allreduce_sum(count);
  allreduce_sum(long_rank);
  const auto holder = static_cast<std::size_t>(long_rank[0]);
  for (std::size_t r = 0; r < count.size(); ++r)
    if (r != holder) {
      EXPECT_GT(count[r], count[holder]) << "rank " << r << " vs holder " << holder;
    }
}

}  // namespace
}  // namespace catapult::dist
