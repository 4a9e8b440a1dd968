#pragma once
// Shared pieces of the attnflow Python module (python/src/*.cpp).
//
//  * as_matrix: NumPy input. A float64, C-contiguous, aligned array is used in place (no copy);
//    any other real-valued array-like (float32, integers, Fortran order, strided views, lists) is
//    converted once to a float64 C-contiguous copy (counted: attnflow._core._conversions());
//    complex, boolean, object and string arrays are refused with TypeError, wrong shapes with
//    ValueError naming the function, the argument, the expected and the actual shape.
//  * SigintGuard: while a run or a kernel holds no GIL, Python's SIGINT handler cannot run. The
//    guard installs a C handler that sets attnflow::g_pending_signal (the loop and the pair
//    kernels poll it and throw attnflow::Interrupted) and restores Python's handler afterwards;
//    callers turn the interruption into KeyboardInterrupt.
#include <signal.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "sim/config/scenario.hpp"
#include "sim/core/interrupt.hpp"
#include "sim/core/state.hpp"

// The module's own types stay hidden like pybind11's (the module keeps default visibility
// only so that attnflow's header-inline registries bind to libattnflow's instances).
#pragma GCC visibility push(hidden)

namespace attnflow::python {

namespace py = pybind11;

// Inputs converted to float64 C order since the module was loaded (tests check that float64
// C-contiguous inputs are not copied).
extern std::atomic<long> g_conversions;

struct Matrix {
  py::array_t<double> array;  // keeps the data alive (the caller's array, or the copy)
  const double* data = nullptr;
  Index rows = 0, cols = 0;
  CMatMap map() const { return CMatMap(data, rows, cols); }
  RowMat copy() const { return map(); }
  Vec vec() const { return Eigen::Map<const Vec>(data, rows * cols); }
};

// `obj` as a 2-D float64 C-contiguous matrix; `rows`/`cols` >= 0 are required sizes, described
// in messages as `rows_what` / `cols_what` (e.g. "N", "d"). `fn` and `name` name the function
// and the argument in messages.
Matrix as_matrix(py::handle obj, const char* fn, const char* name, Index rows = -1,
                 Index cols = -1, const char* shape_what = "(N, d)");
// A 1-D float64 vector of length n (n < 0: any).
Matrix as_vector(py::handle obj, const char* fn, const char* name, Index n = -1);
// A writable float64 C-contiguous (rows, cols) output array given by the caller (out=...):
// never converted (results written into a copy would be lost), refused with ValueError.
double* as_output(py::handle obj, const char* fn, Index rows, Index cols);

// A new float64 C-contiguous array.
py::array_t<double> new_array(const std::vector<py::ssize_t>& shape);
// Copies of Eigen data as new arrays.
py::array_t<double> to_array(const RowMat& m);
py::array_t<double> to_array(const Vec& v);

class SigintGuard {
 public:
  // Installs the C handler if called on the main thread and Python's SIGINT disposition is a
  // handler (not SIG_IGN / SIG_DFL). `enable` = false: a no-op (small kernel calls).
  explicit SigintGuard(bool enable = true);
  ~SigintGuard();
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  bool installed_ = false;
  struct sigaction old_ {};
};

// Takes a pending SIGINT/SIGTERM flag (returns its number, 0 if none) and clears it.
int take_pending_signal();
// Sets KeyboardInterrupt(message) and throws py::error_already_set.
[[noreturn]] void raise_keyboard_interrupt(const std::string& message);

// Module parts.
void bind_kernels(py::module_& m);
void bind_ensemble(py::module_& m, py::class_<Scenario, std::shared_ptr<Scenario>>& scenario);

}  // namespace attnflow::python

#pragma GCC visibility pop
