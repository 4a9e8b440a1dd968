#pragma once
// The token state: a plain value.
//
//   x : N x d positions (row-major; row i is token i). For oscillator models d = 1 and x holds
//       the phases theta_i.
//   y : N x d momenta, present only for second-order models (accelerated flows).
//
// Storage is one contiguous vector u = [x(:) ; y(:)] so that integrators (ours and
// Boost.Odeint's) see a plain vector space. Time travels beside the state, never inside it.
#include <Eigen/Dense>
#include <algorithm>

// Eigen's alignment is part of attnflow's ABI (CMakeLists.txt: ATTNFLOW_EIGEN_ABI).
#if EIGEN_MAX_ALIGN_BYTES != 64 || EIGEN_MAX_STATIC_ALIGN_BYTES != 64
#error "attnflow: compile with -DEIGEN_MAX_ALIGN_BYTES=64 -DEIGEN_MAX_STATIC_ALIGN_BYTES=64 (the CMake package attnflow::attnflow sets them)"
#endif

namespace attnflow {

using Index = Eigen::Index;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMat>;
using CMatMap = Eigen::Map<const RowMat>;
using Vec = Eigen::VectorXd;

struct Shape {
  Index n = 0, d = 0;
  bool momentum = false;
  Index block() const { return n * d; }
  Index size() const { return block() * (momentum ? 2 : 1); }
  bool operator==(const Shape&) const = default;
};

// Non-owning views over a state vector (what a model's right-hand side reads and writes).
struct ConstStateView {
  Shape shape;
  const double* p;
  CMatMap x() const { return CMatMap(p, shape.n, shape.d); }
  CMatMap y() const { return CMatMap(p + shape.block(), shape.n, shape.d); }
};
struct StateView {
  Shape shape;
  double* p;
  MatMap x() const { return MatMap(p, shape.n, shape.d); }
  MatMap y() const { return MatMap(p + shape.block(), shape.n, shape.d); }
  operator ConstStateView() const { return {shape, p}; }
};

struct State {
  Shape shape;
  Vec u;

  State() = default;
  explicit State(Shape s) : shape(s), u(Vec::Zero(s.size())) {}

  MatMap x() { return view().x(); }
  CMatMap x() const { return view().x(); }
  MatMap y() { return view().y(); }
  CMatMap y() const { return view().y(); }
  StateView view() { return {shape, u.data()}; }
  ConstStateView view() const { return {shape, u.data()}; }
};

// out = e, element by element (e an Eigen vector expression of out's size), split over OpenMP
// threads in fixed chunks when the vector is long. Elementwise, so the result does not depend on
// the thread count. What integrators use for their stage updates (u + h k, ...).
template <class Expr>
void assign_parallel(Vec& out, const Expr& e) {
  constexpr Index kChunk = 1 << 15, kMin = 1 << 18;
  const Index n = e.size();
  if (n < kMin) {
    out = e;
    return;
  }
  if (out.size() != n) out.resize(n);
  const Index chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (Index c = 0; c < chunks; ++c) {
    const Index lo = c * kChunk, len = std::min(kChunk, n - lo);
    out.segment(lo, len) = e.segment(lo, len);
  }
}

// out = x * rhs for a tall x (N x d) and a small rhs (d x k): rows in fixed blocks, one GEMM per
// block, blocks split over OpenMP threads. Each block's product does not depend on the thread
// count, so neither does out.
template <class X, class R>
void parallel_product(RowMat& out, const X& x, const R& rhs, double scale = 1.0) {
  constexpr Index kRows = 512;
  const RowMat r = scale * rhs;
  const Index n = x.rows(), blocks = (n + kRows - 1) / kRows;
  out.resize(n, r.cols());
#pragma omp parallel for schedule(static) if (double(n) * double(r.rows()) * double(r.cols()) >= 1e6)
  for (Index b = 0; b < blocks; ++b) {
    const Index lo = b * kRows, len = std::min(kRows, n - lo);
    out.middleRows(lo, len).noalias() = x.middleRows(lo, len) * r;
  }
}

}  // namespace attnflow
