#pragma once
/// @file Project exceptions and the message builder used to name the function and the values.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace catapult {

/// A caller mistake: wrong shape, out-of-range option, bad flag. The message names the function
/// and the offending values.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A failure of the environment or of external data discovered at run time.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reading or writing a file failed (missing, unwritable, short write). Names the path.
class IoError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

/// A file's contents are wrong: bad magic, truncated, forged header, checksum mismatch.
/// Names the file and what is wrong.
class DataError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

/// Concatenates its arguments with operator<< into one string (for exception messages).
template <class... Args>
[[nodiscard]] std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

}  // namespace catapult
