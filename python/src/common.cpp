#include "common.hpp"

#include <pythread.h>

#include <cstring>

#pragma GCC visibility push(hidden)

namespace attnflow::python {

std::atomic<long> g_conversions{0};

namespace {

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// Real-valued input as an array; refuses what cannot be a matrix of reals.
py::array real_array(py::handle obj, const char* fn, const char* name) {
  const std::string where = std::string(fn) + ": " + name;
  if (obj.is_none()) throw py::type_error(where + " must be an array, got None");
  const bool given = py::isinstance<py::array>(obj);
  py::array a = given ? py::reinterpret_borrow<py::array>(obj) : py::array::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw py::type_error(where + " must be an array of real numbers (got " +
                         py::str(py::type::of(obj)).cast<std::string>() + ")");
  }
  if (!given) ++g_conversions;  // a list or another array-like: converted (once, below or here)
  const char kind = a.dtype().kind();
  if (kind == 'c')
    throw py::type_error(where + " is complex (dtype " + dtype_name(a) +
                         "); attnflow takes real float64 values (pass x.real explicitly)");
  if (kind != 'f' && kind != 'i' && kind != 'u')
    throw py::type_error(where + " has dtype " + dtype_name(a) +
                         "; attnflow takes real numbers (float64; float32 and integers are "
                         "converted)");
  return a;
}

Matrix finish(py::array a, bool counted) {
  constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  const bool in_place = py::array_t<double>::check_(a) && (a.flags() & py::array::c_style) &&
                        (a.flags() & kAligned);
  Matrix m;
  if (in_place) {
    m.array = py::reinterpret_borrow<py::array_t<double>>(a);
  } else {
    m.array = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!m.array) throw py::error_already_set();
    if (!counted) ++g_conversions;
  }
  m.data = m.array.data();
  m.rows = a.ndim() >= 1 ? static_cast<Index>(a.shape(0)) : 1;
  m.cols = a.ndim() >= 2 ? static_cast<Index>(a.shape(1)) : 1;
  return m;
}

}  // namespace

Matrix as_matrix(py::handle obj, const char* fn, const char* name, Index rows, Index cols,
                 const char* shape_what) {
  py::array a = real_array(obj, fn, name);
  const bool counted = !py::isinstance<py::array>(obj);
  const std::string where = std::string(fn) + ": " + name;
  if (a.ndim() != 2)
    throw py::value_error(where + " must be a 2-D array of shape " + shape_what + ", got shape " +
                          shape_of(a));
  if ((rows >= 0 && a.shape(0) != rows) || (cols >= 0 && a.shape(1) != cols))
    throw py::value_error(where + " must have shape " + shape_what + " = (" +
                          (rows >= 0 ? std::to_string(rows) : std::string("any")) + ", " +
                          (cols >= 0 ? std::to_string(cols) : std::string("any")) + "), got " +
                          shape_of(a));
  if (a.shape(0) == 0 || a.shape(1) == 0) throw py::value_error(where + " is empty: shape " + shape_of(a));
  return finish(a, counted);
}

Matrix as_vector(py::handle obj, const char* fn, const char* name, Index n) {
  py::array a = real_array(obj, fn, name);
  const bool counted = !py::isinstance<py::array>(obj);
  const std::string where = std::string(fn) + ": " + name;
  if (a.ndim() != 1)
    throw py::value_error(where + " must be a 1-D array of length " +
                          (n >= 0 ? std::to_string(n) : std::string("N")) + ", got shape " + shape_of(a));
  if (n >= 0 && a.shape(0) != n)
    throw py::value_error(where + " must have length " + std::to_string(n) + ", got shape " + shape_of(a));
  return finish(a, counted);
}

double* as_output(py::handle obj, const char* fn, Index rows, Index cols) {
  const std::string where = std::string(fn) + ": out";
  if (!py::isinstance<py::array>(obj)) throw py::type_error(where + " must be a numpy.ndarray");
  auto a = py::reinterpret_borrow<py::array>(obj);
  constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if (!py::array_t<double>::check_(a) || !(a.flags() & py::array::c_style) ||
      !(a.flags() & kAligned) || !a.writeable())
    throw py::value_error(where + " must be a writable, C-contiguous float64 array (results are "
                                  "never written into a converted copy); got dtype " +
                          dtype_name(a) + (a.flags() & py::array::c_style ? "" : ", not C-contiguous") +
                          (a.writeable() ? "" : ", read-only"));
  if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != cols)
    throw py::value_error(where + " must have shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + "), got " + shape_of(a));
  return static_cast<double*>(a.mutable_data());
}

py::array_t<double> new_array(const std::vector<py::ssize_t>& shape) {
  return py::array_t<double>(shape);
}

py::array_t<double> to_array(const RowMat& m) {
  py::array_t<double> a({static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())});
  if (m.size()) std::memcpy(a.mutable_data(), m.data(), sizeof(double) * static_cast<std::size_t>(m.size()));
  return a;
}

py::array_t<double> to_array(const Vec& v) {
  py::array_t<double> a({static_cast<py::ssize_t>(v.size())});
  if (v.size()) std::memcpy(a.mutable_data(), v.data(), sizeof(double) * static_cast<std::size_t>(v.size()));
  return a;
}

// --- SIGINT ------------------------------------------------------------------------------------

namespace {
unsigned long g_main_thread = 0;  // set on first use, with the GIL held

void on_sigint(int sig) { g_pending_signal.store(sig); }

bool on_main_thread() {
  if (g_main_thread == 0) {
    py::object t = py::module_::import("threading").attr("main_thread")();
    g_main_thread = t.attr("ident").cast<unsigned long>();
  }
  return PyThread_get_thread_ident() == g_main_thread;
}
}  // namespace

SigintGuard::SigintGuard(bool enable) {
  if (!enable || !on_main_thread()) return;
  struct sigaction cur {};
  if (sigaction(SIGINT, nullptr, &cur) != 0) return;
  if (!(cur.sa_flags & SA_SIGINFO) && (cur.sa_handler == SIG_IGN || cur.sa_handler == SIG_DFL))
    return;  // the user asked for SIGINT to be ignored or to kill the process
  g_pending_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  if (sigaction(SIGINT, &sa, &old_) == 0) installed_ = true;
}

SigintGuard::~SigintGuard() {
  if (installed_) sigaction(SIGINT, &old_, nullptr);
}

int take_pending_signal() { return g_pending_signal.exchange(0); }

void raise_keyboard_interrupt(const std::string& message) {
  PyErr_SetString(PyExc_KeyboardInterrupt, message.c_str());
  throw py::error_already_set();
}

}  // namespace attnflow::python

#pragma GCC visibility pop
