#pragma once
/// @file NumPy .npy / .npz files, written (and read back) without NumPy: weights exported here
/// load in Python with `np.load("weights.npz")`.
///
/// .npy: format version 1.0 — magic "\x93NUMPY", 1, 0, a little-endian uint16 header length,
/// the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (d1, d0), } padded with
/// spaces and a '\n' to a multiple of 64 bytes, then the data in C (row-major) order.
/// .npz: a zip archive of "<name>.npy" members, stored (no compression), no zip64 (each member
/// and the whole archive below 4 GiB), CRC-32 from zlib.
///
/// Weights layout (export_weights_npz), for an Mlp with widths {d_0, …, d_L}:
///   W0 [d_1, d_0], b0 [d_1], W1 [d_2, d_1], b1 [d_2], …   (the flat buffer's layout; no b*
///   when bias is off), plus widths (int64 [L+1]) and scales (float64 [L]: s_l, 1 for the
///   standard parameterization, 1/√d_l for NTK). So in NumPy, for a row-major batch x [B, d_0]:
///     z = s[l] * a @ W{l}.T + b{l}.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"

namespace catapult::train {

/// Element types written and read: '<f4', '<f8', '<i8'.
enum class NpyType : unsigned char { Float32, Float64, Int64 };

/// An array to write: data points to the product of shape elements of type `type`, row-major.
struct NpyArray {
  std::string name;                ///< member name without ".npy"
  std::vector<std::size_t> shape;  ///< {} for a scalar
  NpyType type;
  const void* data;
};

/// An array read back, values converted to double.
struct LoadedArray {
  std::string name;
  std::vector<std::size_t> shape;
  NpyType type;
  std::vector<double> values;
};

/// The bytes of one .npy file.
[[nodiscard]] std::string npy_bytes(const NpyArray& array);

/// Writes an .npz (stored zip) holding the arrays. Throws InvalidArgument for an empty or
/// duplicate name or a member ≥ 4 GiB, IoError if the file cannot be written.
void write_npz(const std::filesystem::path& path, const std::vector<NpyArray>& arrays);

/// Reads an .npz written by write_npz (stored members, version-1 .npy, '<f4' '<f8' '<i8', C
/// order). Throws IoError if unreadable, DataError naming the file for anything else.
[[nodiscard]] std::vector<LoadedArray> read_npz(const std::filesystem::path& path);

/// Exports the model's parameters with the layout of the file comment.
template <class T>
void export_weights_npz(const nn::Mlp<T>& model, const std::filesystem::path& path);

/// Loads parameters exported by export_weights_npz into model. Throws DataError if an array is
/// missing or its shape differs from the model's.
template <class T>
void import_weights_npz(nn::Mlp<T>& model, const std::filesystem::path& path);

/// Writes the model and optimizer state as a NumPy-readable .npz (for inspecting, e.g., AdaGrad's
/// accumulator from Python). Not a resumable checkpoint: train/checkpoint.hpp writes those
/// (schedule, RNG and data position included, checksummed, atomic). Contents: the model's arrays as
/// export_weights_npz, plus "params" (the flat buffer, P entries), "optimizer_steps" (int64 scalar)
/// and one array "optimizer.<name>" per optimizer state buffer (e.g. optimizer.sum for AdaGrad).
/// Throws as write_npz.
template <class T>
void export_state_npz(const nn::Mlp<T>& model, const optim::Optimizer<T>& optimizer,
                      const std::filesystem::path& path);

/// Restores a state written by export_state_npz into a model of the same architecture and an
/// optimizer of the same kind: parameters, the optimizer state (sized by reset(P)) and its step
/// count. Throws DataError naming the file and the array that is missing or mis-sized.
template <class T>
void import_state_npz(nn::Mlp<T>& model, optim::Optimizer<T>& optimizer,
                      const std::filesystem::path& path);

}  // namespace catapult::train
