#pragma once
/// @file Training checkpoints: a versioned, checksummed binary container of named arrays, written
/// atomically (a crash or a full disk never leaves a half-written checkpoint under the final
/// name) and validated completely when read.
///
/// File layout (version 1, every integer little-endian):
///   offset 0   magic "CATAPCKP" (8 bytes)
///   offset 8   u32 format version (kCheckpointVersion)
///   offset 12  u32 number of entries E
///   offset 16  u64 payload size S in bytes
///   offset 24  payload: E entries, each
///                u16 name length n (1..kMaxCheckpointName), n name bytes (no NUL),
///                u8 kind (CheckpointKind), u8 reserved (0), u64 element count c,
///                c · element size bytes (u64/f64: 8, f32: 4, bytes: 1), little-endian
///   offset 24+S u32 CRC-32 (zlib's polynomial) of every byte before it
/// A reader refuses anything else: wrong magic, unknown version, a size that disagrees with the
/// file's length (truncation), a checksum mismatch, a malformed or duplicate entry.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/train/trainer.hpp"

namespace catapult::train {

/// Format version this build writes; it reads only this version.
inline constexpr std::uint32_t kCheckpointVersion = 1;
/// Longest entry name in bytes.
inline constexpr std::size_t kMaxCheckpointName = 255;

/// Element type of a checkpoint entry (stored as one byte in the file).
enum class CheckpointKind : std::uint8_t {
  U64 = 1,    ///< unsigned 64-bit integers (counters, RNG state, data order)
  F32 = 2,    ///< IEEE-754 binary32 (parameters and optimizer state of float models)
  F64 = 3,    ///< IEEE-754 binary64
  Bytes = 4,  ///< raw bytes (text such as the run's configuration)
};

/// An in-memory checkpoint: named arrays in insertion order. Values are stored bit-exactly, so a
/// reloaded checkpoint reproduces floats (NaN payloads and signed zeros included) exactly.
/// Getters throw DataError naming the checkpoint's source (its file, once read) when an entry is
/// missing or has another kind or length than the caller expects.
class Checkpoint {
 public:
  Checkpoint() = default;

  /// Adds or replaces entry `name`. Throws InvalidArgument for an empty name or one longer than
  /// kMaxCheckpointName bytes.
  void put_u64s(std::string_view name, const std::vector<std::uint64_t>& values);
  void put_u64(std::string_view name, std::uint64_t value) { put_u64s(name, {value}); }
  void put_f32s(std::string_view name, const float* values, std::size_t count);
  void put_f64s(std::string_view name, const double* values, std::size_t count);
  void put_f64(std::string_view name, double value) { put_f64s(name, &value, 1); }
  void put_text(std::string_view name, std::string_view text);

  /// True if an entry of that name exists (of any kind).
  [[nodiscard]] bool contains(std::string_view name) const noexcept;
  /// Names of all entries, in insertion order.
  [[nodiscard]] std::vector<std::string> names() const;

  [[nodiscard]] std::vector<std::uint64_t> u64s(std::string_view name) const;
  /// The single value of a one-element U64 entry.
  [[nodiscard]] std::uint64_t u64(std::string_view name) const;
  [[nodiscard]] double f64(std::string_view name) const;
  [[nodiscard]] std::vector<double> f64s(std::string_view name) const;
  [[nodiscard]] std::vector<float> f32s(std::string_view name) const;
  /// Copies an F32 entry into out, which must hold exactly `count` elements (else DataError:
  /// a checkpoint of another architecture).
  void read_f32s(std::string_view name, float* out, std::size_t count) const;
  void read_f64s(std::string_view name, double* out, std::size_t count) const;
  [[nodiscard]] std::string text(std::string_view name) const;

  /// What error messages call this checkpoint (the file it was read from, or "checkpoint").
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  void set_source(std::string source) { source_ = std::move(source); }

  /// The file image described in the file comment above.
  [[nodiscard]] std::vector<unsigned char> serialize() const;
  /// Parses and validates a file image; `source` names it in errors. Throws DataError.
  [[nodiscard]] static Checkpoint deserialize(const unsigned char* data, std::size_t size,
                                              const std::string& source = "checkpoint");

 private:
  struct Entry {
    std::string name;
    CheckpointKind kind;
    std::size_t count;
    std::vector<unsigned char> bytes;  // little-endian element images
  };
  void put(std::string_view name, CheckpointKind kind, std::size_t count,
           std::vector<unsigned char> bytes);
  [[nodiscard]] const Entry& get(std::string_view name, CheckpointKind kind) const;

  std::vector<Entry> entries_;
  std::string source_ = "checkpoint";
};

/// How write_checkpoint treats the file it replaces.
struct CheckpointWriteOptions {
  /// Keep the checkpoint being replaced as `<path>.prev` (see previous_checkpoint_path), so a
  /// checkpoint damaged after it was written (bad disk, a stray write) still leaves one to
  /// resume from.
  bool keep_previous = true;
};

/// `<path>.prev`: where write_checkpoint keeps the checkpoint it replaced.
[[nodiscard]] std::filesystem::path previous_checkpoint_path(const std::filesystem::path& path);

/// Writes `checkpoint` to `path` atomically: the image goes to a temporary file in the same
/// directory, which is fsync'ed and renamed over `path`, and the directory is fsync'ed. At every
/// instant `path` is either the old complete checkpoint or the new one. With keep_previous, the
/// old file is first hard-linked to `<path>.prev` (atomically replacing an older .prev).
/// Throws IoError naming the path and the system's reason (unwritable directory, no space left,
/// file size limit); the temporary file is removed and `path` is left untouched.
void write_checkpoint(const Checkpoint& checkpoint, const std::filesystem::path& path,
                      const CheckpointWriteOptions& options = {});

/// Writes `contents` to `path` with the same atomic sequence as write_checkpoint (temporary file,
/// fsync, rename, directory fsync; no .prev): a reader sees the old file or the new one, never a
/// part. Throws IoError naming the path and the system's reason; `path` is then left untouched.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

/// Reads and validates a checkpoint file. Throws IoError if it cannot be read and DataError
/// (naming the file and what is wrong: truncated, bad magic, unsupported version, checksum
/// mismatch, malformed entry) if its contents are not a complete checkpoint of this format.
[[nodiscard]] Checkpoint read_checkpoint(const std::filesystem::path& path);

// ---------------------------------------------------------------------------------------------
// Training checkpoints

/// The hooks whose state a training checkpoint holds, in the order the run registers them (a
/// resumed run must register the same kinds in the same order).
struct CheckpointedHooks {
  std::vector<Controller*> controllers;
  std::vector<Observer*> observers;
};

/// The checkpoint of a run after point.step completed steps. Entries:
///   "kind" = "catapult-training", "config" (the run's configuration JSON, as given),
///   "step", "loss_since_eval", "steps_since_eval", "last_loss"   (the loop: ResumePoint),
///   "schedule.step" (= step: a schedule is a function of t),
///   "data.seed", "data.epoch", "data.position", "data.rng"      (the data order: the epoch's
///        shuffle generator Rng(seed).split(epoch) before it shuffles, and the batch position),
///   "params" (P floats), "optimizer.name", "optimizer.steps", "optimizer.<buffer>" (P floats
///   each), and the evaluations before the step (ResumePoint::evals): "evals.step",
///   "evals.epoch" (E u64 each) and "evals.values" (3E f64: train_loss, test_loss,
///   test_accuracy per evaluation);
/// with `schedule` (the one in use, which controllers may have replaced): "schedule.kind",
///   "schedule.f64" (lr, step_gamma, min_lr, max_lr, cyclic_gamma, warmup_start_factor) and
///   "schedule.u64" (step_size, total_steps, step_size_up, step_size_down, mode, warmup_steps);
/// and always "hooks.controllers" and "hooks.observers" (how many hooks' states it holds) with
///   each hook's own entries under "controller.<i>." and "observer.<i>." (save_state).
[[nodiscard]] Checkpoint make_training_checkpoint(
    const nn::Mlp<float>& model, const optim::Optimizer<float>& optimizer, const ResumePoint& point,
    const TrainConfig& config, std::size_t train_size, std::string_view run_config_json,
    const optim::Schedule* schedule = nullptr, const CheckpointedHooks& hooks = {});

/// Restores the parameters and the optimizer's state from a training checkpoint and returns
/// where the loop resumes. Throws DataError naming the checkpoint's file if it is not a training
/// checkpoint or does not fit: another number of parameters, another optimizer or buffer set, a
/// data order that the config does not reproduce (another seed or batch size), evaluation
/// entries of inconsistent lengths. A checkpoint without evaluation entries (written before they
/// existed) restores an empty ResumePoint::evals. The schedule in use, when the checkpoint
/// holds one, comes back in ResumePoint::schedule, and each hook of `hooks` restores its state
/// (restore_state); a checkpoint holding the states of another number of controllers or
/// observers than `hooks` has (or a schedule that does not validate) is refused (DataError).
[[nodiscard]] ResumePoint restore_training_checkpoint(
    const Checkpoint& checkpoint, nn::Mlp<float>& model, optim::Optimizer<float>& optimizer,
    const TrainConfig& config, std::size_t train_size, const CheckpointedHooks& hooks = {});

/// Writes a training checkpoint every `every` steps (after steps every, 2·every, …) with
/// write_checkpoint (atomic, keeps `<path>.prev`). Tracks the loop's loss accumulators itself
/// from on_step/on_eval, so what it writes is exactly the trainer's ResumePoint (with the
/// evaluations made so far).
///
/// A run whose controllers may change the schedule registers it twice: as an observer and as
/// its LAST controller (Hooks), and names the hooks whose state it saves (set_hooks). It then
/// writes from after_step, after the other controllers, so each checkpoint holds the schedule
/// in use and the controllers' state as the next step will see them. Registered as an observer
/// only, it writes from on_step (enough when nothing changes the schedule).
class CheckpointObserver final : public Observer, public Controller {
 public:
  /// before_write runs before each checkpoint is written (e.g. flushing the CSV logs, so the logs
  /// on disk always cover at least the steps the checkpoint holds). resumed_from: the point the
  /// run was resumed from (its accumulators are the starting values), or null.
  /// Throws InvalidArgument for every = 0.
  CheckpointObserver(std::filesystem::path path, std::uint64_t every, TrainConfig config,
                     std::size_t train_size, std::string run_config_json,
                     std::function<void()> before_write = {},
                     const ResumePoint* resumed_from = nullptr);
  /// The hooks whose state every checkpoint holds (see make_training_checkpoint).
  void set_hooks(CheckpointedHooks hooks) { hooks_ = std::move(hooks); }

  void on_start(const RunInfo& /*info*/) override {}
  void on_step(const StepInfo& info) override;
  void on_eval(const EvalInfo& info) override;
  void on_start(const ControlContext& context, optim::Schedule& schedule) override;
  void after_step(const ControlContext& context, optim::Schedule& schedule) override;
  /// Neither as an observer nor as a controller does it read the gradient.
  [[nodiscard]] bool needs_gradient() const override { return false; }

  /// Checkpoints written so far.
  [[nodiscard]] std::uint64_t written() const noexcept { return written_; }

 private:
  void write(const nn::Mlp<float>& model, const optim::Optimizer<float>& optimizer,
             const optim::Schedule* schedule);

  std::filesystem::path path_;
  std::uint64_t every_;
  TrainConfig config_;
  std::size_t train_size_;
  std::string run_config_json_;
  std::function<void()> before_write_;
  ResumePoint point_;
  CheckpointedHooks hooks_;
  bool as_controller_ = false;  // registered as a controller: writes from after_step
  std::uint64_t written_ = 0;
};

}  // namespace catapult::train
