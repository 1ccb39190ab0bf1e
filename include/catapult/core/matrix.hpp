#pragma once
/// @file Row-major matrices: the owning Matrix<T> and the non-owning MatrixView<T> with a
/// leading dimension (row stride), which is what every kernel takes.

#include <cstddef>
#include <type_traits>

#include "catapult/core/aligned.hpp"
#include "catapult/core/error.hpp"

namespace catapult {

/// Non-owning view of a row-major rows × cols matrix whose row i starts at data + i·ld.
/// T may be const-qualified. Invariant: ld ≥ cols (ld may be anything when rows == 0).
template <class T>
class MatrixView {
 public:
  using value_type = std::remove_const_t<T>;

  MatrixView() = default;
  /// Throws InvalidArgument if ld < cols (for rows > 0) or data is null for a non-empty view.
  MatrixView(T* data, std::size_t rows, std::size_t cols, std::size_t ld)
      : data_(data), rows_(rows), cols_(cols), ld_(ld) {
    if (rows > 0 && ld < cols)
      throw InvalidArgument(str_cat("MatrixView: ld ", ld, " < cols ", cols));
    if (data == nullptr && rows * cols > 0)
      throw InvalidArgument(str_cat("MatrixView: null data for a ", rows, "x", cols, " view"));
  }
  /// A dense view (ld == cols).
  MatrixView(T* data, std::size_t rows, std::size_t cols) : MatrixView(data, rows, cols, cols) {}

  /// Views of T convert to views of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  MatrixView(const MatrixView<U>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), ld_(other.ld()) {}

  [[nodiscard]] T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
  [[nodiscard]] std::size_t ld() const noexcept { return ld_; }
  [[nodiscard]] std::size_t size() const noexcept { return rows_ * cols_; }
  [[nodiscard]] bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  /// True when rows are contiguous (ld == cols), so the view is one span of size() elements.
  [[nodiscard]] bool contiguous() const noexcept { return ld_ == cols_ || rows_ <= 1; }

  [[nodiscard]] T& operator()(std::size_t i, std::size_t j) const noexcept {
    return data_[i * ld_ + j];
  }
  [[nodiscard]] T* row(std::size_t i) const noexcept { return data_ + i * ld_; }

  /// The sub-block of nr rows and nc columns starting at (r0, c0); throws if it leaves the view.
  [[nodiscard]] MatrixView block(std::size_t r0, std::size_t c0, std::size_t nr,
                                 std::size_t nc) const {
    if (r0 + nr > rows_ || c0 + nc > cols_)
      throw InvalidArgument(str_cat("MatrixView::block: [", r0, ",", r0 + nr, ")x[", c0, ",",
                                    c0 + nc, ") outside ", rows_, "x", cols_));
    return MatrixView(nr == 0 ? data_ : data_ + r0 * ld_ + c0, nr, nc, ld_);
  }
  /// Rows [r0, r0 + nr): a batch of samples.
  [[nodiscard]] MatrixView rows_range(std::size_t r0, std::size_t nr) const {
    return block(r0, 0, nr, cols_);
  }

 private:
  T* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t ld_ = 0;
};

/// Owning row-major matrix with 64-byte aligned, contiguous storage (ld == cols).
/// Instantiated and used for float and double.
template <class T>
class Matrix {
 public:
  Matrix() = default;
  /// rows × cols, every element set to value.
  Matrix(std::size_t rows, std::size_t cols, T value = T{})
      : rows_(rows), cols_(cols), storage_(checked_size(rows, cols), value) {}

  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
  [[nodiscard]] std::size_t ld() const noexcept { return cols_; }
  [[nodiscard]] std::size_t size() const noexcept { return storage_.size(); }
  [[nodiscard]] bool empty() const noexcept { return storage_.empty(); }
  [[nodiscard]] T* data() noexcept { return storage_.data(); }
  [[nodiscard]] const T* data() const noexcept { return storage_.data(); }

  [[nodiscard]] T& operator()(std::size_t i, std::size_t j) noexcept {
    return storage_[i * cols_ + j];
  }
  [[nodiscard]] const T& operator()(std::size_t i, std::size_t j) const noexcept {
    return storage_[i * cols_ + j];
  }
  [[nodiscard]] T* row(std::size_t i) noexcept { return storage_.data() + i * cols_; }
  [[nodiscard]] const T* row(std::size_t i) const noexcept { return storage_.data() + i * cols_; }

  [[nodiscard]] MatrixView<T> view() noexcept {
    return MatrixView<T>(storage_.data(), rows_, cols_, cols_);
  }
  [[nodiscard]] MatrixView<const T> view() const noexcept {
    return MatrixView<const T>(storage_.data(), rows_, cols_, cols_);
  }
  [[nodiscard]] MatrixView<const T> cview() const noexcept { return view(); }

  /// Reshapes to rows × cols; contents are unspecified afterwards unless the size is unchanged.
  void resize(std::size_t rows, std::size_t cols) {
    storage_.resize(checked_size(rows, cols));
    rows_ = rows;
    cols_ = cols;
  }
  void fill(T value) noexcept {
    for (auto& x : storage_) x = value;
  }

 private:
  static std::size_t checked_size(std::size_t rows, std::size_t cols) {
    if (cols != 0 && rows > static_cast<std::size_t>(-1) / sizeof(T) / cols)
      throw InvalidArgument(str_cat("Matrix: ", rows, "x", cols, " overflows size_t"));
    return rows * cols;
  }

  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  AlignedVector<T> storage_;
};

/// Throws InvalidArgument naming `where` unless the view is rows × cols.
template <class T>
void require_shape(const MatrixView<T>& m, std::size_t rows, std::size_t cols, const char* where) {
  if (m.rows() != rows || m.cols() != cols)
    throw InvalidArgument(
        str_cat(where, ": expected ", rows, "x", cols, ", got ", m.rows(), "x", m.cols()));
}

}  // namespace catapult
