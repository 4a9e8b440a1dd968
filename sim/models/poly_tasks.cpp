// Polyadic task encodings, weights and read-outs (formulas and layouts in sim/poly_tasks.hpp;
// Chakrabarti, Pitassi, Alman, arXiv 2602.02422; research note polyattention.md 4.1, 4.2).
#include "sim/models/poly_tasks.hpp"

#include <cmath>
#include <limits>

#include "sim/core/rng.hpp"

namespace attnflow {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kInf = std::numeric_limits<double>::infinity();

// FC embedding columns.
constexpr Index kOne = 0, kIn = 1, kIn2 = 2, kOut = 3, kOut2 = 4, kType0 = 5;
// match3 tensor columns: 1, cos, sin, x, answer; strassen: 1, x, x^2, answer.

bool tensor_match3(const PolyTaskSpec& t) { return t.mechanism == "tensor"; }

int iround(double v) { return static_cast<int>(std::lround(v)); }
}  // namespace

Index poly_task_tokens(const PolyTaskSpec& t) {
  if (t.kind == PolyTaskKind::FunctionComposition) return Index(t.r) * t.m + 1;
  return t.length;
}

Index poly_task_dim(const PolyTaskSpec& t) {
  if (t.kind == PolyTaskKind::FunctionComposition) return t.r + 7;
  return tensor_match3(t) ? 5 : 4;
}

std::string poly_task_unsupported(const PolyTaskSpec& t) {
  if (t.kind == PolyTaskKind::FunctionComposition) {
    if (t.mechanism == "tree") return {};
    if (t.r != 2)
      return "\"" + t.mechanism + "\" does r = 2 (2-fold composition) only; " +
             "r-fold composition for r >= 3 needs tree-attention (paper Theorem 3.3)";
    return {};
  }
  if (t.kind == PolyTaskKind::Match3 && t.mechanism == "tree")
    return "\"tree\" cannot do match3 (degree-2 forests have no 3-way interaction): use "
           "\"tensor\" (mod M) or \"strassen\" (integers)";
  return {};
}

Polynomial poly_task_polynomial(const PolyTaskSpec& t) {
  if (t.mechanism == "tensor") return tensor_polynomial(3);
  if (t.mechanism == "strassen") return cycle_polynomial(3);
  return path_polynomial(t.r);
}

double poly_task_default_lambda(const PolyTaskSpec& t) {
  const double N = static_cast<double>(poly_task_tokens(t));
  if (t.kind == PolyTaskKind::FunctionComposition)
    return t.r * std::log(N) + std::log(2.0 * std::max(1, t.m - 1)) + 1;
  if (tensor_match3(t)) {
    const double gap = 1 - std::cos(2 * kPi / t.modulus);
    return (std::log(N * N) + std::log(4 / gap)) / gap;
  }
  return std::log(2 * N * N) + 1;
}

PolyTaskWeights poly_task_weights(const PolyTaskSpec& t, double L) {
  PolyTaskWeights w;
  const Index D = poly_task_dim(t);
  if (t.kind == PolyTaskKind::FunctionComposition) {
    const int r = t.r;
    const Index dk = 4 * r;
    const int nv = t.mechanism == "tree" ? r + 1 : 3;
    w.WQ.assign(nv, RowMat::Zero(dk, D));
    w.WV.assign(nv, RowMat::Zero(1, D));
    // Edge s (1-based) between variables s and s+1 owns block B_s.
    for (int s = 1; s <= r; ++s) {
      const Index b = 4 * (s - 1);
      RowMat& lo = w.WQ[s - 1];
      RowMat& hi = w.WQ[s];
      const Index u = s == 1 ? kIn : kOut, u2 = s == 1 ? kIn2 : kOut2;
      lo(b + 0, u2) = 1;
      lo(b + 1, u) = 1;
      lo(b + 2, kOne) = 1;
      lo(b + 3, kOne) = 1;
      hi(b + 0, kOne) = -L;
      hi(b + 1, kIn) = 2 * L;
      hi(b + 2, kIn2) = -L;
      hi(b + 3, kOne) = -L;           // -L_T (1 - 1[type = s])
      hi(b + 3, kType0 + s) = L;
    }
    if (t.mechanism == "tensor") {  // x1 x2 x3: the absent variable is 1 on each block
      for (Index c = 0; c < 4; ++c) {
        w.WQ[2](c, kOne) = 1;      // Q3 = 1 on B_1
        w.WQ[0](4 + c, kOne) = 1;  // Q1 = 1 on B_2
      }
    }
    for (int j = 1; j < nv - 1; ++j) w.WV[j](0, kOne) = 1;
    w.WV[nv - 1](0, kOut) = 1;
    return w;
  }
  if (tensor_match3(t)) {  // columns 1, cos, sin, x, answer
    w.WQ.assign(3, RowMat::Zero(4, D));
    w.WV.assign(3, RowMat::Zero(4, D));
    w.WQ[0](0, 1) = L;  w.WQ[0](1, 1) = -L; w.WQ[0](2, 2) = -L; w.WQ[0](3, 2) = -L;
    w.WQ[1](0, 1) = 1;  w.WQ[1](1, 2) = 1;  w.WQ[1](2, 1) = 1;  w.WQ[1](3, 2) = 1;
    w.WQ[2](0, 1) = 1;  w.WQ[2](1, 2) = 1;  w.WQ[2](2, 2) = 1;  w.WQ[2](3, 1) = 1;
    w.WV[1] = w.WQ[1];
    w.WV[2] = w.WQ[2];
    return w;
  }
  // match3 strassen, columns 1, x, x^2, answer; blocks E12 = {0,1}, E23 = {2,3}, E31 = {4}.
  w.WQ.assign(3, RowMat::Zero(5, D));
  w.WV.assign(3, RowMat::Zero(5, D));
  w.WQ[0](0, 1) = 1;      w.WQ[0](1, 0) = 1;  w.WQ[0](4, 1) = -2 * L;
  w.WQ[1](0, 1) = -2 * L; w.WQ[1](1, 2) = -L; w.WQ[1](2, 1) = 1;  w.WQ[1](3, 0) = 1;
  w.WQ[2](2, 1) = -2 * L; w.WQ[2](3, 2) = -L; w.WQ[2](4, 1) = 1;
  // V2 = [b, 1, b^2, 1, b], V3 = [1, c, 1, c^2, c]
  w.WV[1](0, 1) = 1; w.WV[1](1, 0) = 1; w.WV[1](2, 2) = 1; w.WV[1](3, 0) = 1; w.WV[1](4, 1) = 1;
  w.WV[2](0, 0) = 1; w.WV[2](1, 1) = 1; w.WV[2](2, 0) = 1; w.WV[2](3, 2) = 1; w.WV[2](4, 1) = 1;
  return w;
}

void poly_task_encode(const PolyTaskSpec& t, std::uint64_t seed, MatMap x) {
  Rng rng = Rng::stream(seed, "model.task");
  const Index N = poly_task_tokens(t), D = poly_task_dim(t);
  x.setZero();
  auto draw = [&](int k) { return static_cast<int>(rng.uniform() * k) % k; };
  for (int inst = 0; inst < t.instances; ++inst) {
    const Index r0 = inst * N;
    if (t.kind == PolyTaskKind::FunctionComposition) {
      for (int s = 1; s <= t.r; ++s)
        for (int a = 0; a < t.m; ++a) {
          const Index row = r0 + Index(s - 1) * t.m + a;
          const double out = draw(t.m);
          x(row, kOne) = 1;
          x(row, kIn) = a;
          x(row, kIn2) = double(a) * a;
          x(row, kOut) = out;
          x(row, kOut2) = out * out;
          x(row, kType0 + s) = 1;
        }
      const Index q = r0 + N - 1;
      const double in = draw(t.m);
      x(q, kOne) = 1;
      x(q, kIn) = in;
      x(q, kIn2) = in * in;
      x(q, kType0) = 1;
    } else if (tensor_match3(t)) {
      for (Index i = 0; i < N; ++i) {
        const double v = draw(t.modulus), th = 2 * kPi * v / t.modulus;
        x(r0 + i, 0) = 1;
        x(r0 + i, 1) = std::cos(th);
        x(r0 + i, 2) = std::sin(th);
        x(r0 + i, 3) = v;
      }
    } else {
      for (Index i = 0; i < N; ++i) {
        const double v = draw(2 * t.range + 1) - t.range;
        x(r0 + i, 0) = 1;
        x(r0 + i, 1) = v;
        x(r0 + i, 2) = v * v;
      }
    }
    for (Index i = 0; i < N; ++i) x(r0 + i, D - 1) = -1;  // unanswered
  }
}

Vec poly_task_truth(const PolyTaskSpec& t, const RowMat& xi) {
  const Index N = xi.rows();
  Vec truth = Vec::Constant(N, -1);
  if (t.kind == PolyTaskKind::FunctionComposition) {
    int y = iround(xi(N - 1, kIn));
    for (int s = 1; s <= t.r; ++s) {
      int next = -1;
      for (Index i = 0; i + 1 < N; ++i)
        if (xi(i, kType0 + s) > 0.5 && iround(xi(i, kIn)) == y) next = iround(xi(i, kOut));
      y = next;
    }
    truth[N - 1] = y;
    return truth;
  }
  const bool modm = tensor_match3(t);
  const Index col = modm ? 3 : 1;
  for (Index i = 0; i < N; ++i) {
    bool found = false;
    const int a = iround(xi(i, col));
    for (Index j = 0; j < N && !found; ++j)
      for (Index k = 0; k < N && !found; ++k) {
        const int s = a + iround(xi(j, col)) + iround(xi(k, col));
        found = modm ? s % t.modulus == 0 : s == 0;
      }
    truth[i] = found ? 1 : 0;
  }
  return truth;
}

PolyTaskReadout poly_task_readout(const PolyTaskSpec& t, const RowMat& xi, const RowMat& att) {
  const Index N = xi.rows();
  PolyTaskReadout r;
  r.truth = poly_task_truth(t, xi);
  r.answer = Vec::Constant(N, -1);
  r.margin = Vec::Constant(N, kInf);
  if (t.kind == PolyTaskKind::FunctionComposition) {
    const double v = att(N - 1, 0);
    r.answer[N - 1] = std::round(v);
    r.margin[N - 1] = 0.5 - std::abs(v - r.truth[N - 1]);
    return r;
  }
  for (Index i = 0; i < N; ++i) {
    double g;
    bool yes;
    double margin;
    if (tensor_match3(t)) {
      const double thr = (1 + std::cos(2 * kPi / t.modulus)) / 2;
      g = xi(i, 1) * (att(i, 0) - att(i, 1)) - xi(i, 2) * (att(i, 2) + att(i, 3));
      yes = g > thr;
      margin = r.truth[i] > 0.5 ? g - thr : thr - g;
    } else {
      const double a = xi(i, 1);
      g = a * a + 2 * a * (att(i, 0) + att(i, 1)) + att(i, 2) + att(i, 3) + 2 * att(i, 4);
      yes = g < 0.5;
      margin = r.truth[i] > 0.5 ? 0.5 - g : g - 0.5;
    }
    r.answer[i] = yes ? 1 : 0;
    r.margin[i] = margin;
  }
  return r;
}

}  // namespace attnflow
