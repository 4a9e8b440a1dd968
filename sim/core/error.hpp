#pragma once
// Error hierarchy. Every failure the CLI reports maps to one exit code (SPEC section 2):
//   ConfigError    -> 2  (invalid scenario, option or input file; message names file:line:col)
//   NumericalError -> 3  (NaN/Inf, step-size underflow; message names step, time, token)
//   IoError        -> 4  (cannot read or write a file)
#include <stdexcept>
#include <string>

namespace attnflow {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
  virtual int exit_code() const { return 1; }
};
struct ConfigError : Error {
  using Error::Error;
  int exit_code() const override { return 2; }
};
struct NumericalError : Error {
  using Error::Error;
  int exit_code() const override { return 3; }
};
struct IoError : Error {
  using Error::Error;
  int exit_code() const override { return 4; }
};

}  // namespace attnflow
