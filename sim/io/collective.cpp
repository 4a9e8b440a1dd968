#include "sim/io/collective.hpp"

#include <stdexcept>
#include <string>

#include "sim/core/error.hpp"

namespace attnflow {
namespace {

// "<exit code> <message>" of f's error, "" if it succeeded. Any other exception is kept as
// code 0 and rethrown as std::runtime_error (the CLI reports it as an internal error, exit 4,
// as it would serially).
std::string attempt(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::to_string(e.exit_code()) + " " + e.what();
  } catch (const std::exception& e) {
    return std::string("0 ") + e.what();
  }
  return {};
}

[[noreturn]] void rethrow(const std::string& failure) {
  const auto sp = failure.find(' ');
  const int code = std::stoi(failure.substr(0, sp));
  const std::string msg = failure.substr(sp + 1);
  switch (code) {
    case 0: throw std::runtime_error(msg);
    case 2: throw ConfigError(msg);
    case 3: throw NumericalError(msg);
    case 4: throw IoError(msg);
    default: throw Error(msg);
  }
}

}  // namespace

void on_root(const Comm* comm, const std::function<void()>& f) {
  if (!comm) return f();
  std::string failure;
  if (comm->rank() == 0) failure = attempt(f);
  comm->broadcast(failure);
  if (!failure.empty()) rethrow(failure);
}

void on_all(const Comm* comm, const std::function<void()>& f) {
  if (!comm) return f();
  std::string failure = attempt(f);
  // The lowest failing rank r as size - r (0: none failed).
  const std::int64_t first = comm->max(failure.empty() ? 0 : comm->size() - comm->rank());
  if (first == 0) return;
  comm->broadcast(failure, static_cast<int>(comm->size() - first));
  rethrow(failure);
}

}  // namespace attnflow
