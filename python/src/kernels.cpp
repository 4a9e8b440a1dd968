// Models' right-hand sides on NumPy arrays: the same C++ code paths as the simulator (the
// streamed pair kernel, no N x N matrix), one call each.
//
// Inputs: float64 C-contiguous arrays are read in place; any other real array-like is converted
// once (common.hpp). Outputs are new arrays (attention_rhs also writes into out=).
// Large calls release the GIL and can be interrupted with Ctrl-C (KeyboardInterrupt).
#include <chrono>
#include <cmath>
#include <cstring>

#include "common.hpp"
#include "sim/kernels/ssa_operator.hpp"
#include "sim/models/accelerated_attention.hpp"
#include "sim/models/attention.hpp"
#include "sim/models/kuramoto.hpp"
#include "sim/models/second_order.hpp"
#include "sim/models/svgd.hpp"

#pragma GCC visibility push(hidden)

namespace attnflow::python {
namespace {

// Pair work above which a call releases the GIL with the SIGINT guard installed.
constexpr double kGuardPairs = 1 << 20;

RowMat matrix_or_identity(py::handle obj, const char* fn, const char* name, Index d) {
  if (obj.is_none()) return RowMat::Identity(d, d);
  return as_matrix(obj, fn, name, d, d, "(d, d)").copy();
}

Normalization normalization_of(const std::string& s, const char* fn) {
  if (s == "softmax") return Normalization::Softmax;
  if (s == "mean") return Normalization::Mean;
  throw py::value_error(std::string(fn) + ": normalization must be \"softmax\" (SA) or \"mean\" "
                        "(USA), got \"" + s + "\"");
}

void check_beta(double beta, const char* fn) {
  if (!(beta >= 0) || !std::isfinite(beta))
    throw py::value_error(std::string(fn) + ": beta must be finite and >= 0 (got " + std::to_string(beta) + ")");
}

// Runs f (pure C++) without the GIL; with the SIGINT guard when the work is large.
template <class F>
void compute(double pairs, const char* fn, F&& f) {
  const bool big = pairs >= kGuardPairs;
  bool interrupted = false;
  {
    SigintGuard guard(big);
    py::gil_scoped_release nogil;
    try {
      f();
    } catch (const Interrupted&) {
      interrupted = true;
    }
  }
  // Clear the flag whatever happened, so that no later call sees a stale interrupt.
  const int pending = (big || interrupted) ? take_pending_signal() : 0;
  if (interrupted || pending) raise_keyboard_interrupt(std::string(fn) + " interrupted");
}

py::array_t<double> attention_rhs(py::handle X, py::handle Q, py::handle K, py::handle V,
                                  double beta, const std::string& normalization, bool sphere,
                                  py::handle out) {
  const char* fn = "attention_rhs";
  const Matrix x = as_matrix(X, fn, "X");
  const Index n = x.rows, d = x.cols;
  AttentionParams p;
  p.norm = normalization_of(normalization, fn);
  check_beta(beta, fn);
  p.beta = beta;
  p.Q = matrix_or_identity(Q, fn, "Q", d);
  p.K = matrix_or_identity(K, fn, "K", d);
  p.V = matrix_or_identity(V, fn, "V", d);
  py::array_t<double> result;
  double* dst;
  if (out.is_none()) {
    result = new_array({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
    dst = result.mutable_data();
  } else {
    dst = as_output(out, fn, n, d);
    if (dst == x.data) throw py::value_error("attention_rhs: out must not be X itself");
    result = py::reinterpret_borrow<py::array_t<double>>(out);
  }
  const Shape shape{n, d, false};
  compute(double(n) * double(n) * double(d), fn, [&] {
    AttentionModel m(shape, sphere ? Space::Sphere : Space::Euclidean, std::move(p));
    m.rhs(0.0, ConstStateView{shape, x.data}, StateView{shape, dst});
  });
  return result;
}

// For docs/python.md: seconds per call of the same C++ path (model built and RHS evaluated
// into a preallocated array), averaged over `repeats` calls, without Python in the loop.
double time_attention_rhs(py::handle X, py::handle Q, py::handle K, py::handle V, double beta,
                          const std::string& normalization, bool sphere, int repeats) {
  const char* fn = "_time_attention_rhs";
  const Matrix x = as_matrix(X, fn, "X");
  const Index n = x.rows, d = x.cols;
  AttentionParams p0;
  p0.norm = normalization_of(normalization, fn);
  p0.beta = beta;
  p0.Q = matrix_or_identity(Q, fn, "Q", d);
  p0.K = matrix_or_identity(K, fn, "K", d);
  p0.V = matrix_or_identity(V, fn, "V", d);
  RowMat out(n, d);
  const Shape shape{n, d, false};
  py::gil_scoped_release nogil;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) {
    AttentionParams p = p0;
    AttentionModel m(shape, sphere ? Space::Sphere : Space::Euclidean, std::move(p));
    m.rhs(0.0, ConstStateView{shape, x.data}, StateView{shape, out.data()});
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

py::tuple accelerated_attention_rhs(py::handle X, py::handle Y, py::handle A, py::handle B,
                                    double t, double c_log, double c_lin,
                                    const std::string& convention, py::handle potential_matrix) {
  const char* fn = "accelerated_attention_rhs";
  const Matrix x = as_matrix(X, fn, "X");
  const Index n = x.rows, d = x.cols;
  const Matrix y = as_matrix(Y, fn, "Y", n, d);
  AccAttentionParams p;
  if (convention != "density" && convention != "v1")
    throw py::value_error(std::string(fn) + ": convention must be \"density\" or \"v1\", got \"" + convention + "\"");
  p.v1 = convention == "v1";
  p.A = matrix_or_identity(A, fn, "A", d);
  p.B = matrix_or_identity(B, fn, "B", d);
  if (!is_symmetric(p.A)) throw py::value_error(std::string(fn) + ": A must be symmetric (scores x^T A y)");
  if (!is_spd(p.B)) throw py::value_error(std::string(fn) + ": B must be symmetric positive definite");
  if (!potential_matrix.is_none()) {
    p.quadratic = true;
    p.Hpot = as_matrix(potential_matrix, fn, "potential_matrix", d, d, "(d, d)").copy();
    if (!is_symmetric(p.Hpot)) throw py::value_error(std::string(fn) + ": potential_matrix must be symmetric");
  }
  p.damping.c_log = c_log;
  p.damping.c_lin = c_lin;
  if (c_log != 0 && !(t > 0))
    throw py::value_error(std::string(fn) + ": damping c_log / t needs t > 0 (got t = " + std::to_string(t) + ")");
  auto dx = new_array({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
  auto dy = new_array({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
  double* px = dx.mutable_data();
  double* py_ = dy.mutable_data();
  compute(2.0 * double(n) * double(n) * double(d), fn, [&] {
    std::unique_ptr<Flow> f = make_accelerated_attention(Shape{n, d, true}, Space::Euclidean, p);
    auto* so = dynamic_cast<SecondOrderModel*>(f.get());
    RowMat F, G;
    so->oracle(t, x.map(), y.map(), F, G);
    const double a = so->damping().none() ? 0.0 : so->damping().alpha(t);
    MatMap(px, n, d) = F;
    MatMap(py_, n, d) = G - a * y.map();
  });
  return py::make_tuple(dx, dy);
}

py::array_t<double> svgd_rhs(py::handle X, py::handle mean, py::handle cov, py::handle means,
                             py::handle weights, double sigma, const std::string& kernel,
                             py::handle bandwidth, py::handle A, double c) {
  const char* fn = "svgd_rhs";
  const Matrix x = as_matrix(X, fn, "X");
  const Index n = x.rows, d = x.cols;
  SvgdParams p;
  Target& t = p.target;
  if (means.is_none()) {
    t.kind = "gaussian";
    t.mu = mean.is_none() ? Vec::Zero(d) : as_vector(mean, fn, "mean", d).vec();
    t.cov = matrix_or_identity(cov, fn, "cov", d);
    if (!is_spd(t.cov)) throw py::value_error(std::string(fn) + ": cov must be symmetric positive definite");
    t.P = t.cov.inverse();
    t.mean = t.mu;
  } else {
    if (!mean.is_none() || !cov.is_none())
      throw py::value_error(std::string(fn) + ": give mean/cov (Gaussian target) or means/weights/sigma (mixture), not both");
    t.kind = "gaussian_mixture";
    t.means = as_matrix(means, fn, "means", -1, d, "(K, d)").copy();
    const Index k = t.means.rows();
    Vec w = Vec::Constant(k, 1.0 / static_cast<double>(k));
    if (!weights.is_none()) {
      w = as_vector(weights, fn, "weights", k).vec();
      if ((w.array() <= 0).any()) throw py::value_error(std::string(fn) + ": weights must be > 0");
      w /= w.sum();
    }
    if (!(sigma > 0)) throw py::value_error(std::string(fn) + ": sigma must be > 0");
    t.logw = w.array().log();
    t.sigma = sigma;
    t.mean = t.means.transpose() * w;
    const RowMat mc = t.means.rowwise() - t.mean.transpose();
    t.cov = sigma * sigma * RowMat::Identity(d, d) + mc.transpose() * w.asDiagonal() * mc;
  }
  if (kernel == "rbf") {
    p.rbf = true;
    if (bandwidth.is_none() || (py::isinstance<py::str>(bandwidth) && bandwidth.cast<std::string>() == "median")) {
      p.median = true;
    } else {
      p.median = false;
      p.bandwidth = bandwidth.cast<double>();
      if (!(p.bandwidth > 0)) throw py::value_error(std::string(fn) + ": bandwidth must be > 0 or \"median\"");
    }
  } else if (kernel == "bilinear") {
    p.rbf = false;
    p.A = matrix_or_identity(A, fn, "A", d);
    if (!is_symmetric(p.A)) throw py::value_error(std::string(fn) + ": A must be symmetric");
    if (!(c >= 0)) throw py::value_error(std::string(fn) + ": c must be >= 0");
    p.c = c;
  } else {
    throw py::value_error(std::string(fn) + ": kernel must be \"rbf\" or \"bilinear\", got \"" + kernel + "\"");
  }
  auto out = new_array({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
  double* dst = out.mutable_data();
  const Shape shape{n, d, false};
  compute(double(n) * double(n) * double(d), fn, [&] {
    std::unique_ptr<Flow> f = make_svgd(shape, Space::Euclidean, std::move(p));
    f->rhs(0.0, ConstStateView{shape, x.data}, StateView{shape, dst});
  });
  return out;
}

py::array_t<double> kuramoto_rhs(py::handle theta, py::handle omega, double K, py::handle J,
                                 const std::string& rule, double alpha) {
  const char* fn = "kuramoto_rhs";
  const Matrix th = as_vector(theta, fn, "theta");
  const Index n = th.rows;
  const Matrix om = as_vector(omega, fn, "omega", n);
  KuramotoParams p;
  p.K = K;
  p.omega = om.vec();
  std::string r = rule.empty() ? (J.is_none() ? "uniform" : "matrix") : rule;
  if (r == "uniform") {
    p.rule = KuramotoRule::Uniform;
  } else if (r == "ssa") {
    p.rule = KuramotoRule::Ssa;
    if (!(alpha >= 0)) throw py::value_error(std::string(fn) + ": alpha must be >= 0");
    p.alpha = alpha;
  } else if (r == "matrix") {
    p.rule = KuramotoRule::Matrix;
    if (J.is_none()) throw py::value_error(std::string(fn) + ": rule \"matrix\" needs J (N, N)");
    p.J = as_matrix(J, fn, "J", n, n, "(N, N)").copy();
  } else {
    throw py::value_error(std::string(fn) + ": rule must be \"uniform\", \"ssa\" or \"matrix\", got \"" + r + "\"");
  }
  if (r != "matrix" && !J.is_none())
    throw py::value_error(std::string(fn) + ": J applies only to rule = \"matrix\"");
  auto out = new_array({static_cast<py::ssize_t>(n)});
  double* dst = out.mutable_data();
  const Shape shape{n, 1, false};
  compute(r == "uniform" ? double(n) : double(n) * double(n), fn, [&] {
    std::unique_ptr<Flow> f = make_kuramoto(shape, std::move(p), 0, false);
    f->rhs(0.0, ConstStateView{shape, th.data}, StateView{shape, dst});
  });
  return out;
}

py::array_t<double> ssa_attention(py::handle omega, py::handle theta, py::handle v, double K,
                                  double alpha, Index top_k) {
  const char* fn = "ssa_attention";
  const Matrix om = as_matrix(omega, fn, "omega");
  const Index n = om.rows, d = om.cols;
  const Matrix th = as_matrix(theta, fn, "theta", n, d);
  const Matrix vv = as_matrix(v, fn, "v", n, d);
  if (!(K > 0)) throw py::value_error(std::string(fn) + ": K must be > 0");
  if (!(alpha >= 0)) throw py::value_error(std::string(fn) + ": alpha must be >= 0");
  if (top_k < 0) throw py::value_error(std::string(fn) + ": top_k must be >= 0 (0: dense)");
  auto out = new_array({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
  double* dst = out.mutable_data();
  compute(double(n) * double(n) * double(d), fn, [&] {
    const ssa::Head h{om.data, th.data, vv.data, n, d, d};
    const double r = ssa::order_parameter(th.data, n, d, d);
    ssa::head_forward(h, K * r, alpha, top_k, dst, d);
  });
  return out;
}

}  // namespace

void bind_kernels(py::module_& m) {
  using namespace pybind11::literals;
  m.def("attention_rhs", &attention_rhs, "X"_a, "Q"_a = py::none(), "K"_a = py::none(),
        "V"_a = py::none(), py::kw_only(), "beta"_a = 1.0, "normalization"_a = "softmax",
        "sphere"_a = false, "out"_a = py::none(), R"doc(
Self-attention as a particle flow: the right-hand side dX of the attention model.

    SA  (normalization="softmax"):  dx_i = sum_j softmax_j(beta <Q x_i, K x_j>) V x_j
    USA (normalization="mean"):     dx_i = (1/N) sum_j exp(beta <Q x_i, K x_j>) V x_j
    sphere=True projects each row:  dx_i <- dx_i - <x_i, dx_i> x_i   (rows of X on S^{d-1})

X is (N, d); Q, K, V are (d, d) (None: identity). Returns dX as a new (N, d) float64 array,
or writes it into out= (a writable C-contiguous float64 (N, d) array, never converted).
Streamed through attnflow's pair kernel: memory O(N d), no N x N matrix. float64 C-contiguous
inputs are read in place; other real arrays (float32, integers, Fortran order, strided views,
lists) are converted once; complex/bool/object arrays raise TypeError, wrong shapes ValueError.
Large calls release the GIL and stop on Ctrl-C (KeyboardInterrupt).)doc");
  m.def("_time_attention_rhs", &time_attention_rhs, "X"_a, "Q"_a, "K"_a, "V"_a, "beta"_a,
        "normalization"_a, "sphere"_a, "repeats"_a,
        "Seconds per C++ call of attention_rhs's code path (no Python in the loop; for benchmarks).");
  m.def("accelerated_attention_rhs", &accelerated_attention_rhs, "X"_a, "Y"_a, "A"_a = py::none(),
        "B"_a = py::none(), py::kw_only(), "t"_a = 1.0, "c_log"_a = 0.0, "c_lin"_a = 0.0,
        "convention"_a = "density", "potential_matrix"_a = py::none(), R"doc(
SympFormer's accelerated softmax attention (Hamiltonian momentum): returns (dX, dY).

    M_ij = exp(x_i^T A x_j),  z_i = sum_j M_ij,  s_i = y_i^T B y_i / z_i^2
    dx_i = N B y_i / z_i
    dy_i = -alpha(t) y_i + (N/2) sum_j M_ij (s_i + s_j + kappa) A x_j     [- Hpot x_i]

with convention="density" (kappa = 2/N^2, default) or "v1" (kappa = 2, the authors' code;
sim/models/accelerated_attention.cpp), damping
alpha(t) = c_log / t + c_lin (default 0: undamped). A (d, d) symmetric, B (d, d) SPD (None:
identity); potential_matrix (d, d) symmetric switches to the quadratic potential. X, Y: (N, d).)doc");
  m.def("svgd_rhs", &svgd_rhs, "X"_a, py::kw_only(), "mean"_a = py::none(), "cov"_a = py::none(),
        "means"_a = py::none(), "weights"_a = py::none(), "sigma"_a = 1.0, "kernel"_a = "rbf",
        "bandwidth"_a = "median", "A"_a = py::none(), "c"_a = 1.0, R"doc(
Stein variational gradient flow toward a target pi: dx_i = (1/N) sum_j [k(x_j, x_i) g_j +
grad_{x_j} k(x_j, x_i)], g = grad log pi.

Target: Gaussian N(mean, cov) (defaults 0, I), or a mixture of isotropic Gaussians (means (K, d),
weights (K,), sigma). kernel="rbf": k = exp(-|x - y|^2 / h) with h = bandwidth (a number) or
"median" (med^2 / log N over the first min(N, 512) particles); kernel="bilinear":
k = x^T A y + c. X is (N, d); returns dX (N, d).)doc");
  m.def("kuramoto_rhs", &kuramoto_rhs, "theta"_a, "omega"_a, "K"_a = 1.0, py::kw_only(),
        "J"_a = py::none(), "rule"_a = "", "alpha"_a = 1.0, R"doc(
Kuramoto oscillators: dtheta_i = omega_i + (K/N) sum_j J_ij sin(theta_j - theta_i).

theta, omega: (N,). rule="uniform" (J = 1, O(N) through the order parameter; the default),
"ssa" (J_ij = exp(-alpha (omega_i - omega_j)^2), streamed) or "matrix" (J given, (N, N);
the default when J is given). Returns dtheta (N,).)doc");
  m.def("ssa_attention", &ssa_attention, "omega"_a, "theta"_a, "v"_a, py::kw_only(), "K"_a = 1.0,
        "alpha"_a = 1.0, "top_k"_a = 0, R"doc(
One head of closed-form Selective Synchronization Attention (Hays 2026; sim/kernels/ssa_operator.hpp):

    r     = (1/d) sum_c |(1/N) sum_j exp(i theta_jc)|
    D2_ij = |omega_i - omega_j|^2,  J_ij = exp(-alpha D2_ij),  T_ij = K r J_ij + 1e-8
    S_ij  = J_ij sqrt(1 - D2_ij / T_ij^2) if sqrt(D2_ij) <= T_ij else 0   (S_ii = 1)
    A_ij  = S_ij / (sum_j S_ij + 1e-8),  out_i = sum_j A_ij v_j

omega, theta, v: (N, d) (one head's slices); K > 0, alpha >= 0 (the softplus-ed parameters);
top_k > 0 keeps the k largest S_ij per row. Streamed row by row (no N x N matrix). Returns
out (N, d). The OSN block around it (projections, LayerNorm, FFN) runs as model kind "ssa".)doc");
}

}  // namespace attnflow::python

#pragma GCC visibility pop
