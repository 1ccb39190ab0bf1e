#include "catapult/train/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "catapult/core/error.hpp"

namespace catapult::train {
namespace {

constexpr std::array<unsigned char, 8> kMagic = {'C', 'A', 'T', 'A', 'P', 'C', 'K', 'P'};
constexpr std::size_t kHeaderSize = 24;
constexpr std::size_t kTrailerSize = 4;

std::size_t element_size(CheckpointKind kind) noexcept {
  switch (kind) {
    case CheckpointKind::U64:
    case CheckpointKind::F64:
      return 8;
    case CheckpointKind::F32:
      return 4;
    case CheckpointKind::Bytes:
      return 1;
  }
  return 0;
}

const char* kind_name(CheckpointKind kind) noexcept {
  switch (kind) {
    case CheckpointKind::U64:
      return "u64";
    case CheckpointKind::F32:
      return "f32";
    case CheckpointKind::F64:
      return "f64";
    case CheckpointKind::Bytes:
      return "bytes";
  }
  return "unknown";
}

// Little-endian encoding, independent of the host's byte order.
template <class U>
void append_le(std::vector<unsigned char>& out, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i)
    out.push_back(static_cast<unsigned char>((value >> (8 * i)) & 0xFFU));
}

template <class U>
unsigned char* store_le(unsigned char* p, U value) noexcept {
  for (std::size_t i = 0; i < sizeof(U); ++i)
    *p++ = static_cast<unsigned char>((value >> (8 * i)) & 0xFFU);
  return p;
}

template <class U>
U load_le(const unsigned char* p) noexcept {
  U value = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i)
    value |= static_cast<U>(static_cast<U>(p[i]) << (8 * i));
  return value;
}

std::uint32_t crc32_of(const unsigned char* data, std::size_t size) noexcept {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, 1U << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Checkpoint: entries

void Checkpoint::put(std::string_view name, CheckpointKind kind, std::size_t count,
                     std::vector<unsigned char> bytes) {
  if (name.empty() || name.size() > kMaxCheckpointName)
    throw InvalidArgument(str_cat("Checkpoint::put: entry name must have 1..", kMaxCheckpointName,
                                  " bytes, got ", name.size(), " ('", name, "')"));
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const Entry& e) { return e.name == name; });
  Entry entry{std::string(name), kind, count, std::move(bytes)};
  if (it != entries_.end())
    *it = std::move(entry);
  else
    entries_.push_back(std::move(entry));
}

void Checkpoint::put_u64s(std::string_view name, const std::vector<std::uint64_t>& values) {
  std::vector<unsigned char> bytes;
  bytes.reserve(values.size() * 8);
  for (const auto v : values) append_le(bytes, v);
  put(name, CheckpointKind::U64, values.size(), std::move(bytes));
}

void Checkpoint::put_f32s(std::string_view name, const float* values, std::size_t count) {
  std::vector<unsigned char> bytes;
  bytes.reserve(count * 4);
  for (std::size_t i = 0; i < count; ++i) append_le(bytes, std::bit_cast<std::uint32_t>(values[i]));
  put(name, CheckpointKind::F32, count, std::move(bytes));
}

void Checkpoint::put_f64s(std::string_view name, const double* values, std::size_t count) {
  std::vector<unsigned char> bytes;
  bytes.reserve(count * 8);
  for (std::size_t i = 0; i < count; ++i) append_le(bytes, std::bit_cast<std::uint64_t>(values[i]));
  put(name, CheckpointKind::F64, count, std::move(bytes));
}

void Checkpoint::put_text(std::string_view name, std::string_view text) {
  std::vector<unsigned char> bytes(text.begin(), text.end());
  put(name, CheckpointKind::Bytes, text.size(), std::move(bytes));
}

bool Checkpoint::contains(std::string_view name) const noexcept {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.name == name; });
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.name);
  return out;
}

const Checkpoint::Entry& Checkpoint::get(std::string_view name, CheckpointKind kind) const {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const Entry& e) { return e.name == name; });
  if (it == entries_.end())
    throw DataError(str_cat(source_, ": checkpoint has no entry '", name, "'"));
  if (it->kind != kind)
    throw DataError(str_cat(source_, ": checkpoint entry '", name, "' holds ", kind_name(it->kind),
                            ", expected ", kind_name(kind)));
  return *it;
}

std::vector<std::uint64_t> Checkpoint::u64s(std::string_view name) const {
  const auto& e = get(name, CheckpointKind::U64);
  std::vector<std::uint64_t> out(e.count);
  for (std::size_t i = 0; i < e.count; ++i) out[i] = load_le<std::uint64_t>(e.bytes.data() + 8 * i);
  return out;
}

std::uint64_t Checkpoint::u64(std::string_view name) const {
  const auto& e = get(name, CheckpointKind::U64);
  if (e.count != 1)
    throw DataError(
        str_cat(source_, ": checkpoint entry '", name, "' has ", e.count, " values, expected 1"));
  return load_le<std::uint64_t>(e.bytes.data());
}

std::vector<double> Checkpoint::f64s(std::string_view name) const {
  const auto& e = get(name, CheckpointKind::F64);
  std::vector<double> out(e.count);
  for (std::size_t i = 0; i < e.count; ++i)
    out[i] = std::bit_cast<double>(load_le<std::uint64_t>(e.bytes.data() + 8 * i));
  return out;
}

double Checkpoint::f64(std::string_view name) const {
  const auto values = f64s(name);
  if (values.size() != 1)
    throw DataError(str_cat(source_, ": checkpoint entry '", name, "' has ", values.size(),
                            " values, expected 1"));
  return values[0];
}

std::vector<float> Checkpoint::f32s(std::string_view name) const {
  const auto& e = get(name, CheckpointKind::F32);
  std::vector<float> out(e.count);
  for (std::size_t i = 0; i < e.count; ++i)
    out[i] = std::bit_cast<float>(load_le<std::uint32_t>(e.bytes.data() + 4 * i));
  return out;
}

void Checkpoint::read_f32s(std::string_view name, float* out, std::size_t count) const {
  const auto& e = get(name, CheckpointKind::F32);
  if (e.count != count)
    throw DataError(str_cat(source_, ": checkpoint entry '", name, "' has ", e.count,
                            " values, expected ", count));
  for (std::size_t i = 0; i < count; ++i)
    out[i] = std::bit_cast<float>(load_le<std::uint32_t>(e.bytes.data() + 4 * i));
}

void Checkpoint::read_f64s(std::string_view name, double* out, std::size_t count) const {
  const auto& e = get(name, CheckpointKind::F64);
  if (e.count != count)
    throw DataError(str_cat(source_, ": checkpoint entry '", name, "' has ", e.count,
                            " values, expected ", count));
  for (std::size_t i = 0; i < count; ++i)
    out[i] = std::bit_cast<double>(load_le<std::uint64_t>(e.bytes.data() + 8 * i));
}

std::string Checkpoint::text(std::string_view name) const {
  const auto& e = get(name, CheckpointKind::Bytes);
  return {e.bytes.begin(), e.bytes.end()};
}

// ---------------------------------------------------------------------------------------------
// Checkpoint: file image

std::vector<unsigned char> Checkpoint::serialize() const {
  std::size_t payload = 0;
  for (const auto& e : entries_) payload += 2 + e.name.size() + 2 + 8 + e.bytes.size();
  // Sized up front and filled by position (GCC 12 misreads insert() into a reserved vector).
  std::vector<unsigned char> out(kHeaderSize + payload + kTrailerSize);
  unsigned char* p = out.data();
  p = std::copy(kMagic.begin(), kMagic.end(), p);
  p = store_le(p, kCheckpointVersion);
  p = store_le(p, static_cast<std::uint32_t>(entries_.size()));
  p = store_le(p, static_cast<std::uint64_t>(payload));
  for (const auto& e : entries_) {
    p = store_le(p, static_cast<std::uint16_t>(e.name.size()));
    p = std::copy(e.name.begin(), e.name.end(), p);
    *p++ = static_cast<unsigned char>(e.kind);
    *p++ = 0;
    p = store_le(p, static_cast<std::uint64_t>(e.count));
    p = std::copy(e.bytes.begin(), e.bytes.end(), p);
  }
  store_le(p, crc32_of(out.data(), out.size() - kTrailerSize));
  return out;
}

Checkpoint Checkpoint::deserialize(const unsigned char* data, std::size_t size,
                                   const std::string& source) {
  const auto fail = [&](auto&&... what) {
    throw DataError(str_cat(source, ": not a valid catapult checkpoint: ", what...));
  };
  if (size < kHeaderSize + kTrailerSize)
    fail("truncated (", size, " bytes, smaller than the ", kHeaderSize + kTrailerSize,
         "-byte header and checksum)");
  if (!std::equal(kMagic.begin(), kMagic.end(), data)) fail("bad magic (expected CATAPCKP)");
  const auto version = load_le<std::uint32_t>(data + 8);
  if (version != kCheckpointVersion)
    fail("unsupported format version ", version, " (this build reads version ", kCheckpointVersion,
         ")");
  const auto num_entries = load_le<std::uint32_t>(data + 12);
  const auto payload = load_le<std::uint64_t>(data + 16);
  const std::size_t available = size - kHeaderSize - kTrailerSize;
  if (payload != available)
    fail(payload > available ? "truncated" : "trailing bytes", " (header announces ", payload,
         " payload bytes, the file holds ", available, ")");
  const auto stored_crc = load_le<std::uint32_t>(data + size - kTrailerSize);
  const auto actual_crc = crc32_of(data, size - kTrailerSize);
  if (stored_crc != actual_crc)
    fail("checksum mismatch (stored CRC-32 ", stored_crc, ", computed ", actual_crc,
         "): the file is corrupt");

  Checkpoint checkpoint;
  checkpoint.source_ = source;
  std::size_t pos = kHeaderSize;
  const std::size_t end = kHeaderSize + available;
  for (std::uint32_t i = 0; i < num_entries; ++i) {
    if (end - pos < 2) fail("entry ", i, " overruns the payload");
    const std::size_t name_len = load_le<std::uint16_t>(data + pos);
    pos += 2;
    if (name_len == 0 || name_len > kMaxCheckpointName)
      fail("entry ", i, " has a name of ", name_len, " bytes");
    if (end - pos < name_len + 10) fail("entry ", i, " overruns the payload");
    std::string name(reinterpret_cast<const char*>(data + pos), name_len);
    pos += name_len;
    const auto kind = static_cast<CheckpointKind>(data[pos]);
    const std::size_t esize = element_size(kind);
    if (esize == 0) fail("entry '", name, "' has unknown kind ", static_cast<int>(data[pos]));
    if (data[pos + 1] != 0) fail("entry '", name, "' has a non-zero reserved byte");
    pos += 2;
    const auto count = load_le<std::uint64_t>(data + pos);
    pos += 8;
    if (count > (end - pos) / esize)
      fail("entry '", name, "' announces ", count, " elements, more than the payload holds");
    const std::size_t nbytes = static_cast<std::size_t>(count) * esize;
    if (checkpoint.contains(name)) fail("duplicate entry '", name, "'");
    checkpoint.entries_.push_back(
        Entry{std::move(name), kind, static_cast<std::size_t>(count),
              std::vector<unsigned char>(data + pos, data + pos + nbytes)});
    pos += nbytes;
  }
  if (pos != end) fail(end - pos, " unused payload bytes after ", num_entries, " entries");
  return checkpoint;
}

// ---------------------------------------------------------------------------------------------
// Files

std::filesystem::path previous_checkpoint_path(const std::filesystem::path& path) {
  auto prev = path;
  prev += ".prev";
  return prev;
}

namespace {

// Closes a descriptor on scope exit unless released.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  /// Closes now and reports close's error (NFS and some file systems report write errors here).
  int close() noexcept {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// `noun` names what is written in messages ("checkpoint", "file").
[[noreturn]] void throw_io(const char* noun, const std::filesystem::path& path, const char* what,
                           int err) {
  throw IoError(
      str_cat("cannot write ", noun, " ", path.string(), ": ", what, ": ", errno_text(err)));
}

// Writes all of [data, data + size) to fd, retrying short writes and EINTR.
void write_all(int fd, const unsigned char* data, std::size_t size, const char* noun,
               const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, std::min<std::size_t>(size, 1U << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(noun, path, "write failed", errno);
    }
    if (n == 0) throw_io(noun, path, "write made no progress", EIO);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void fsync_directory(const std::filesystem::path& dir, const char* noun,
                     const std::filesystem::path& path) {
  const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_io(noun, path, "cannot open its directory to sync it", errno);
  if (::fsync(fd.get()) != 0 && errno != EINVAL)
    throw_io(noun, path, "directory fsync failed", errno);
}

// The temporary file, fsync, (link to .prev,) rename, directory fsync sequence of
// write_checkpoint and write_file_atomically.
void write_atomically(const std::filesystem::path& path, const unsigned char* data,
                      std::size_t size, const char* noun, bool keep_previous) {
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const auto tmp = dir / str_cat(".", path.filename().string(), ".tmp-", ::getpid());

  {
    FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0)
      throw_io(noun, path, "cannot create a temporary file in its directory", errno);
    try {
      write_all(fd.get(), data, size, noun, path);
      if (::fsync(fd.get()) != 0) throw_io(noun, path, "fsync failed", errno);
      if (fd.close() != 0) throw_io(noun, path, "close failed", errno);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }

  try {
    if (keep_previous && ::access(path.c_str(), F_OK) == 0) {
      // Hard-link the current file to a temporary name, then rename that over .prev: both
      // steps are atomic, and `path` itself is never absent.
      const auto prev = previous_checkpoint_path(path);
      const auto prev_tmp = dir / str_cat(".", prev.filename().string(), ".tmp-", ::getpid());
      ::unlink(prev_tmp.c_str());
      if (::link(path.c_str(), prev_tmp.c_str()) != 0)
        throw_io(noun, path, "cannot link the previous one", errno);
      if (::rename(prev_tmp.c_str(), prev.c_str()) != 0) {
        const int err = errno;
        ::unlink(prev_tmp.c_str());
        throw_io(noun, path, "cannot keep the previous one", err);
      }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_io(noun, path, "rename failed", errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_directory(dir, noun, path);
}

}  // namespace

void write_checkpoint(const Checkpoint& checkpoint, const std::filesystem::path& path,
                      const CheckpointWriteOptions& options) {
  const auto image = checkpoint.serialize();
  write_atomically(path, image.data(), image.size(), "checkpoint", options.keep_previous);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  write_atomically(path, reinterpret_cast<const unsigned char*>(contents.data()), contents.size(),
                   "file", false);
}

Checkpoint read_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(str_cat("cannot read checkpoint ", path.string(), ": ", errno_text(errno)));
  std::vector<unsigned char> image;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    image.insert(image.end(), buffer, buffer + in.gcount());
  }
  if (in.bad()) throw IoError(str_cat("cannot read checkpoint ", path.string(), ": read failed"));
  return Checkpoint::deserialize(image.data(), image.size(), path.string());
}

}  // namespace catapult::train

// ---------------------------------------------------------------------------------------------
// Training checkpoints

namespace catapult::train {
namespace {

constexpr std::string_view kTrainingKind = "catapult-training";

std::uint64_t batches_per_epoch(const TrainConfig& config, std::size_t n) {
  const std::size_t b = config.batch_size;
  return config.drop_last ? n / b : (n + b - 1) / b;
}

// A resolved schedule (the critical-rate multiples are cleared when a Schedule is built).
void put_schedule(Checkpoint& c, const optim::ScheduleConfig& s) {
  c.put_u64("schedule.kind", static_cast<std::uint64_t>(s.kind));
  const double f[] = {s.lr,     s.step_gamma,   s.min_lr,
                      s.max_lr, s.cyclic_gamma, s.warmup_start_factor};
  c.put_f64s("schedule.f64", f, std::size(f));
  c.put_u64s("schedule.u64", {s.step_size, s.total_steps, s.step_size_up, s.step_size_down,
                              static_cast<std::uint64_t>(s.mode), s.warmup_steps});
}

optim::ScheduleConfig get_schedule(const Checkpoint& c) {
  const auto& src = c.source();
  const auto f = c.f64s("schedule.f64");
  const auto u = c.u64s("schedule.u64");
  if (f.size() != 6 || u.size() != 6)
    throw DataError(str_cat(src, ": its schedule entries hold ", f.size(), " and ", u.size(),
                            " values, not 6 and 6"));
  const std::uint64_t kind = c.u64("schedule.kind");
  if (kind > static_cast<std::uint64_t>(optim::ScheduleKind::Cyclic) ||
      u[4] > static_cast<std::uint64_t>(optim::CyclicMode::ExpRange))
    throw DataError(str_cat(src, ": unknown schedule kind ", kind, " or cyclic mode ", u[4]));
  optim::ScheduleConfig s;
  s.kind = static_cast<optim::ScheduleKind>(kind);
  s.lr = f[0];
  s.step_gamma = f[1];
  s.min_lr = f[2];
  s.max_lr = f[3];
  s.cyclic_gamma = f[4];
  s.warmup_start_factor = f[5];
  s.step_size = u[0];
  s.total_steps = u[1];
  s.step_size_up = u[2];
  s.step_size_down = u[3];
  s.mode = static_cast<optim::CyclicMode>(u[4]);
  s.warmup_steps = u[5];
  try {
    (void)optim::Schedule(s);
  } catch (const InvalidArgument& e) {
    throw DataError(str_cat(src, ": its schedule is not valid: ", e.what()));
  }
  return s;
}

std::string hook_prefix(const char* kind, std::size_t i) { return str_cat(kind, ".", i, "."); }

}  // namespace

Checkpoint make_training_checkpoint(const nn::Mlp<float>& model,
                                    const optim::Optimizer<float>& optimizer,
                                    const ResumePoint& point, const TrainConfig& config,
                                    std::size_t train_size, std::string_view run_config_json,
                                    const optim::Schedule* schedule,
                                    const CheckpointedHooks& hooks) {
  const std::uint64_t per_epoch = batches_per_epoch(config, train_size);
  if (per_epoch == 0)
    throw InvalidArgument(str_cat("make_training_checkpoint: no batch fits ", train_size,
                                  " samples with batch size ", config.batch_size));
  Checkpoint c;
  c.put_text("kind", kTrainingKind);
  c.put_text("config", run_config_json);
  c.put_u64("step", point.step);
  c.put_f64("loss_since_eval", point.loss_since_eval);
  c.put_u64("steps_since_eval", point.steps_since_eval);
  c.put_f64("last_loss", point.last_loss);
  c.put_u64("schedule.step", point.step);
  const std::uint64_t epoch = point.step / per_epoch;
  const Rng order_rng = Rng(config.seed).split(epoch);
  c.put_u64("data.seed", config.seed);
  c.put_u64("data.epoch", epoch);
  c.put_u64("data.position", (point.step % per_epoch) * config.batch_size);
  c.put_u64s("data.rng", {order_rng.state().begin(), order_rng.state().end()});
  c.put_f32s("params", model.params(), model.num_params());
  c.put_text("optimizer.name", optimizer.name());
  c.put_u64("optimizer.steps", optimizer.steps());
  for (const auto& buffer : optimizer.state())
    c.put_f32s("optimizer." + buffer.name, buffer.data, buffer.size);
  std::vector<std::uint64_t> eval_steps, eval_epochs;
  std::vector<double> eval_values;
  for (const EvalInfo& e : point.evals) {
    eval_steps.push_back(e.step);
    eval_epochs.push_back(e.epoch);
    eval_values.insert(eval_values.end(), {e.train_loss, e.test_loss, e.test_accuracy});
  }
  c.put_u64s("evals.step", eval_steps);
  c.put_u64s("evals.epoch", eval_epochs);
  c.put_f64s("evals.values", eval_values.data(), eval_values.size());
  if (schedule != nullptr) put_schedule(c, schedule->config());
  c.put_u64("hooks.controllers", hooks.controllers.size());
  c.put_u64("hooks.observers", hooks.observers.size());
  for (std::size_t i = 0; i < hooks.controllers.size(); ++i)
    hooks.controllers[i]->save_state(c, hook_prefix("controller", i));
  for (std::size_t i = 0; i < hooks.observers.size(); ++i)
    hooks.observers[i]->save_state(c, hook_prefix("observer", i));
  return c;
}

ResumePoint restore_training_checkpoint(const Checkpoint& c, nn::Mlp<float>& model,
                                        optim::Optimizer<float>& optimizer,
                                        const TrainConfig& config, std::size_t train_size,
                                        const CheckpointedHooks& hooks) {
  const auto& src = c.source();
  if (!c.contains("kind") || c.text("kind") != kTrainingKind)
    throw DataError(str_cat(src, ": not a training checkpoint"));
  ResumePoint point;
  point.step = c.u64("step");
  point.loss_since_eval = c.f64("loss_since_eval");
  point.steps_since_eval = c.u64("steps_since_eval");
  point.last_loss = c.f64("last_loss");
  if (c.u64("schedule.step") != point.step)
    throw DataError(str_cat(src, ": schedule position ", c.u64("schedule.step"),
                            " disagrees with step ", point.step));

  // The data order must be the one this configuration reproduces.
  const std::uint64_t per_epoch = batches_per_epoch(config, train_size);
  if (per_epoch == 0)
    throw InvalidArgument(str_cat("restore_training_checkpoint: no batch fits ", train_size,
                                  " samples with batch size ", config.batch_size));
  const std::uint64_t epoch = point.step / per_epoch;
  const Rng order_rng = Rng(config.seed).split(epoch);
  const std::vector<std::uint64_t> rng_state(order_rng.state().begin(), order_rng.state().end());
  if (c.u64("data.seed") != config.seed || c.u64("data.epoch") != epoch ||
      c.u64("data.position") != (point.step % per_epoch) * config.batch_size ||
      c.u64s("data.rng") != rng_state)
    throw DataError(str_cat(src, ": its data order (seed ", c.u64("data.seed"), ", epoch ",
                            c.u64("data.epoch"), ", position ", c.u64("data.position"),
                            ") is not the one this run's seed ", config.seed, " and batch size ",
                            config.batch_size, " give at step ", point.step));

  c.read_f32s("params", model.params(), model.num_params());
  const std::string name = c.text("optimizer.name");
  if (name != optimizer.name())
    throw DataError(str_cat(src, ": written by optimizer '", name, "', this run uses '",
                            optimizer.name(), "'"));
  optimizer.reset(model.num_params());
  std::size_t buffers = 0;
  for (auto& buffer : optimizer.state()) {
    c.read_f32s("optimizer." + buffer.name, buffer.data, buffer.size);
    ++buffers;
  }
  std::size_t stored = 0;
  for (const auto& n : c.names()) stored += n.rfind("optimizer.", 0) == 0 ? 1 : 0;
  if (stored != buffers + 2)
    throw DataError(
        str_cat(src, ": holds ", stored - 2, " optimizer buffers, '", name, "' has ", buffers));
  optimizer.set_steps(c.u64("optimizer.steps"));
  if (c.contains("evals.step")) {
    const auto steps = c.u64s("evals.step");
    const auto epochs = c.u64s("evals.epoch");
    const auto values = c.f64s("evals.values");
    if (epochs.size() != steps.size() || values.size() != 3 * steps.size())
      throw DataError(str_cat(src, ": its evaluation entries disagree in length (", steps.size(),
                              " steps, ", epochs.size(), " epochs, ", values.size(), " values)"));
    for (std::size_t i = 0; i < steps.size(); ++i)
      point.evals.push_back(
          {steps[i], epochs[i], values[3 * i], values[3 * i + 1], values[3 * i + 2]});
  }
  if (c.contains("schedule.kind")) point.schedule = get_schedule(c);
  // Hook states: a checkpoint written before they existed holds none.
  const std::uint64_t controllers =
      c.contains("hooks.controllers") ? c.u64("hooks.controllers") : 0;
  const std::uint64_t observers = c.contains("hooks.observers") ? c.u64("hooks.observers") : 0;
  if (controllers != hooks.controllers.size() || observers != hooks.observers.size())
    throw DataError(str_cat(src, ": holds the state of ", controllers, " controller(s) and ",
                            observers, " observer(s), this run has ", hooks.controllers.size(),
                            " and ", hooks.observers.size()));
  for (std::size_t i = 0; i < hooks.controllers.size(); ++i)
    hooks.controllers[i]->restore_state(c, hook_prefix("controller", i));
  for (std::size_t i = 0; i < hooks.observers.size(); ++i)
    hooks.observers[i]->restore_state(c, hook_prefix("observer", i));
  return point;
}

CheckpointObserver::CheckpointObserver(std::filesystem::path path, std::uint64_t every,
                                       TrainConfig config, std::size_t train_size,
                                       std::string run_config_json,
                                       std::function<void()> before_write,
                                       const ResumePoint* resumed_from)
    : path_(std::move(path)),
      every_(every),
      config_(std::move(config)),
      train_size_(train_size),
      run_config_json_(std::move(run_config_json)),
      before_write_(std::move(before_write)) {
  if (every == 0) throw InvalidArgument("CheckpointObserver: checkpoint every 0 steps");
  if (resumed_from != nullptr) point_ = *resumed_from;
}

void CheckpointObserver::write(const nn::Mlp<float>& model,
                               const optim::Optimizer<float>& optimizer,
                               const optim::Schedule* schedule) {
  if (before_write_) before_write_();
  write_checkpoint(make_training_checkpoint(model, optimizer, point_, config_, train_size_,
                                            run_config_json_, schedule, hooks_),
                   path_);
  ++written_;
}

void CheckpointObserver::on_step(const StepInfo& info) {
  point_.step = info.step + 1;
  point_.loss_since_eval += info.loss;
  ++point_.steps_since_eval;
  point_.last_loss = info.loss;
  if (as_controller_ || point_.step % every_ != 0) return;
  if (!hooks_.controllers.empty())
    throw InvalidArgument(
        "CheckpointObserver: it saves controllers' state, so it must also be registered as the "
        "run's last controller (it would otherwise write before they act)");
  write(info.model, info.optimizer, nullptr);
}

void CheckpointObserver::on_start(const ControlContext& /*context*/,
                                  optim::Schedule& /*schedule*/) {
  as_controller_ = true;
}

void CheckpointObserver::after_step(const ControlContext& context, optim::Schedule& schedule) {
  if (context.next_step % every_ != 0) return;
  write(context.model, context.optimizer, &schedule);
}

void CheckpointObserver::on_eval(const EvalInfo& info) {
  point_.evals.push_back(info);
  point_.loss_since_eval = 0;
  point_.steps_since_eval = 0;
}

}  // namespace catapult::train
