// Poly-attention operators: naive, tree (message passing), cycle (Strassen, matrix products),
// polynomial-method approximation. Formulas, shapes and costs in sim/poly_algorithms.hpp
// (Chakrabarti, Pitassi, Alman, arXiv 2602.02422; research note polyattention.md 3.1-3.5).
//
// Determinism: every output row is computed by one thread in a fixed order (static schedules;
// the cycle algorithm's GEMMs run on fixed row chunks, each single-threaded), so results are
// identical for any OpenMP thread count.
#include "sim/kernels/poly_algorithms.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

#include "sim/core/error.hpp"
#include "sim/kernels/fast_exp.hpp"
#include "sim/kernels/kernel_attention.hpp"
#include "sim/kernels/pair_stream.hpp"

namespace attnflow {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kParallelTuples = 1e5;
}

PolyAlgorithm parse_poly_algorithm(const std::string& a) {
  if (a == "auto") return PolyAlgorithm::Auto;
  if (a == "naive") return PolyAlgorithm::Naive;
  if (a == "strassen" || a == "cycle") return PolyAlgorithm::Cycle;
  if (a == "tree") return PolyAlgorithm::Tree;
  if (a == "polynomial") return PolyAlgorithm::Polynomial;
  throw Error("unknown poly-attention algorithm '" + a + "'");
}

std::string poly_algorithm_name(PolyAlgorithm a) {
  switch (a) {
    case PolyAlgorithm::Auto: return "auto";
    case PolyAlgorithm::Naive: return "naive";
    case PolyAlgorithm::Cycle: return "strassen";
    case PolyAlgorithm::Tree: return "tree";
    case PolyAlgorithm::Polynomial: return "polynomial";
  }
  return "?";
}

PolyAlgorithm auto_poly_algorithm(const Polynomial& h) {
  if (h.is_forest()) return PolyAlgorithm::Tree;
  if (h.is_cycle()) return PolyAlgorithm::Cycle;
  return PolyAlgorithm::Naive;
}

std::string poly_algorithm_unsupported(const Polynomial& h, PolyAlgorithm a) {
  if (a == PolyAlgorithm::Tree && !h.is_forest())
    return "\"tree\" needs a tree polynomial (degree 2, graph without cycles); h = " +
           h.str() + (h.degree() > 2 ? " has degree " + std::to_string(h.degree())
                                     : std::string(" has a cycle"));
  if (a == PolyAlgorithm::Cycle && !h.is_cycle())
    return "\"strassen\" needs h to be one cycle through all variables (t >= 3), e.g. "
           "x1*x2 + x2*x3 + x3*x1; h = " + h.str() + " is not";
  return {};
}

// ------------------------------------------------------------------------------------------
// naive: depth-first enumeration with partial products and an online softmax per row
// ------------------------------------------------------------------------------------------
namespace {

class NaiveRows {
 public:
  NaiveRows(const Polynomial& h, const PolyInput& in)
      : h_(h), in_(in), t_(h.t), s_(h.size()), n_(in.q[0].rows()), dk_(in.q[0].cols()),
        dv_(t_ > 1 ? in.v[1].cols() : 0) {
    last_.resize(s_);
    for (int mu = 0; mu < s_; ++mu) last_[mu] = h.monos[mu].back();
    contains_.assign(t_, std::vector<char>(s_, 0));
    for (int mu = 0; mu < s_; ++mu)
      for (int j : h.monos[mu]) contains_[j][mu] = 1;
    P_.assign(t_, std::vector<double>(static_cast<std::size_t>(s_ * dk_), 1.0));
    pv_.assign(t_, std::vector<double>(static_cast<std::size_t>(dv_), 1.0));
    score_.assign(t_, 0.0);
    z_.resize(static_cast<std::size_t>(n_));
    a_.resize(static_cast<std::size_t>(dk_));
    acc_.resize(static_cast<std::size_t>(dv_));
    num_.resize(static_cast<std::size_t>(dv_));
  }

  // Row l1 in three parts, so the pair loop can poll between them: begin, the tuples whose
  // second token l2 is in [lo, hi) (for t = 2 the whole row at once), end: out_row[0..dv), log Z.
  void begin(Index l1) {
    auto& P0 = P_[0];
    for (int mu = 0; mu < s_; ++mu)
      for (Index c = 0; c < dk_; ++c) P0[mu * dk_ + c] = contains_[0][mu] ? in_.q[0](l1, c) : 1.0;
    std::fill(pv_[0].begin(), pv_[0].end(), 1.0);
    score_[0] = 0;
    mx_ = kNegInf;
    den_ = 0;
    std::fill(num_.begin(), num_.end(), 0.0);
  }
  void accumulate(Index lo, Index hi) { descend(1, lo, hi); }
  void end(double* out_row, double* logz) {
    for (Index c = 0; c < dv_; ++c) out_row[c] = num_[c] / den_;
    if (logz) *logz = mx_ + std::log(den_);
  }
  // Columns of the pair loop: the second token's index (one chunk = one l2), or one chunk for t = 2.
  Index columns() const { return t_ > 2 ? n_ : 1; }

 private:
  void descend(int j, Index lo = 0, Index hi = -1) {
    const auto& Pp = P_[j - 1];
    const RowMat& Q = in_.q[j];
    const RowMat& V = in_.v[j];
    if (j == t_ - 1) {  // leaf level: one dot product per token, block online softmax
      std::fill(a_.begin(), a_.end(), 0.0);
      for (int mu = 0; mu < s_; ++mu)
        if (contains_[j][mu])
          for (Index c = 0; c < dk_; ++c) a_[c] += Pp[mu * dk_ + c];
      const double base = score_[j - 1];
      double bm = kNegInf;
      for (Index l = 0; l < n_; ++l) {
        double z = 0;
        for (Index c = 0; c < dk_; ++c) z += a_[c] * Q(l, c);
        z = in_.beta * (base + z);
        z_[l] = z;
        bm = std::max(bm, z);
      }
      if (bm > mx_) {
        const double r = mx_ == kNegInf ? 0.0 : std::exp(mx_ - bm);
        den_ *= r;
        for (auto& x : num_) x *= r;
        mx_ = bm;
      }
      std::fill(acc_.begin(), acc_.end(), 0.0);
      double lsum = 0;
      for (Index l = 0; l < n_; ++l) {
        const double w = fast_exp_nonpos(z_[l] - mx_);
        lsum += w;
        for (Index c = 0; c < dv_; ++c) acc_[c] += w * V(l, c);
      }
      den_ += lsum;
      const auto& pv = pv_[j - 1];
      for (Index c = 0; c < dv_; ++c) num_[c] += pv[c] * acc_[c];
      return;
    }
    auto& P = P_[j];
    auto& pv = pv_[j];
    if (hi < 0) hi = n_;
    for (Index l = lo; l < hi; ++l) {
      double sc = score_[j - 1];
      for (int mu = 0; mu < s_; ++mu) {
        const double* src = &Pp[mu * dk_];
        double* dst = &P[mu * dk_];
        if (!contains_[j][mu]) {
          for (Index c = 0; c < dk_; ++c) dst[c] = src[c];
        } else if (last_[mu] == j) {
          for (Index c = 0; c < dk_; ++c) sc += src[c] * Q(l, c);
        } else {
          for (Index c = 0; c < dk_; ++c) dst[c] = src[c] * Q(l, c);
        }
      }
      score_[j] = sc;
      for (Index c = 0; c < dv_; ++c) pv[c] = pv_[j - 1][c] * V(l, c);
      descend(j + 1);
    }
  }

  const Polynomial& h_;
  const PolyInput& in_;
  int t_, s_;
  Index n_, dk_, dv_;
  std::vector<int> last_;
  std::vector<std::vector<char>> contains_;
  std::vector<std::vector<double>> P_, pv_;
  std::vector<double> score_, z_, a_, acc_, num_;
  double mx_ = kNegInf, den_ = 0;
};

// Naive enumeration on the pair loop: one row per block, one second-token index per chunk (so a
// degree-8 step polls for SIGINT every n^6 tuples, not every n^7). `rows` (optional) maps the
// loop's row index to the output row.
struct NaiveEval {
  static constexpr Index kRows = 1, kCols = 1;
  using Tile = NaiveRows;
  const Polynomial& h;
  const PolyInput& in;
  RowMat& out;
  Vec* logz;
  const Index* rows;
  Index row(Index i) const { return rows ? rows[i] : i; }
  Tile make_tile() const { return NaiveRows(h, in); }
  void begin(Tile& t, Index i, Index) const { t.begin(row(i)); }
  void accumulate(Tile& t, Index, Index, Index j0, Index j1) const {
    if (t.columns() == 1) t.accumulate(0, -1);
    else t.accumulate(j0, j1);
  }
  void end(Tile& t, Index i, Index) const {
    t.end(out.row(row(i)).data(), logz ? &(*logz)[row(i)] : nullptr);
  }
};

void check_input(const Polynomial& h, const PolyInput& in) {
  if (static_cast<int>(in.q.size()) != h.t || static_cast<int>(in.v.size()) != h.t)
    throw Error("poly-attention: need one projection and one value matrix per variable (t = " +
                std::to_string(h.t) + ")");
}

}  // namespace

void poly_naive(const Polynomial& h, const PolyInput& in, RowMat& out, Vec* logz) {
  check_input(h, in);
  const Index n = in.q[0].rows(), dv = in.v[1].cols();
  out.resize(n, dv);
  if (logz) logz->resize(n);
  // Parallel only with enough tuples: fork/join costs more than tiny enumerations.
  NaiveEval e{h, in, out, logz, nullptr};
  // Parallel only with enough tuples: fork/join costs more than tiny enumerations.
  stream_rows(e, n, NaiveRows(h, in).columns(), std::pow(double(n), h.t) >= kParallelTuples);
}

// ------------------------------------------------------------------------------------------
// tree: leaf-to-root message passing, one streamed softmax pass per edge
// ------------------------------------------------------------------------------------------
void poly_tree(const Polynomial& h, const PolyInput& in, RowMat& out, Vec* logz) {
  check_input(h, in);
  if (!h.is_forest()) throw Error("poly-attention algorithm " + poly_algorithm_unsupported(h, PolyAlgorithm::Tree));
  const int t = h.t;
  const Index n = in.q[0].rows(), dv = in.v[1].cols();
  std::vector<std::vector<int>> adj(t);
  for (const auto& m : h.monos) {
    adj[m[0]].push_back(m[1]);
    adj[m[1]].push_back(m[0]);
  }
  std::vector<RowMat> msg(t);  // normalised message m_j[l_parent] (n x dv)
  std::vector<Vec> lz(t);      // log Z_j[l_parent]
  std::vector<char> seen(t, 0);
  // Returns the key bias (sum of children's log Z) and the values V_j (.) prod_c m_c of vertex j.
  std::function<void(int, int, Vec&, RowMat&)> gather = [&](int j, int parent, Vec& bias,
                                                             RowMat& vals) {
    seen[j] = 1;
    bias = Vec::Zero(n);
    vals = j == 0 ? RowMat::Ones(n, dv) : in.v[j];
    for (int c : adj[j]) {
      if (c == parent) continue;
      Vec cb;
      RowMat cv;
      gather(c, j, cb, cv);
      // Edge (j, c): queries beta Q_j, keys Q_c, key bias cb, values cv.
      const RowMat q = in.beta * in.q[j];
      AttentionPass p{&q, &in.q[c], &cv, &cb, Normalization::Softmax};
      stream_attention(p, &msg[c], &lz[c]);
      bias += lz[c];
      vals.array() *= msg[c].array();
    }
  };
  Vec bias;
  RowMat vals;
  gather(0, -1, bias, vals);
  out = vals;  // prod of the root's children messages
  Vec lzs = bias;
  // Components without x1 (and unused variables) contribute constant vectors.
  for (int r = 1; r < t; ++r) {
    if (seen[r]) continue;
    gather(r, -1, bias, vals);
    const double mx = bias.maxCoeff();
    Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(dv);
    double z = 0;
    for (Index l = 0; l < n; ++l) {
      const double w = std::exp(bias[l] - mx);
      z += w;
      m += w * vals.row(l);
    }
    m /= z;
    out.array().rowwise() *= m.array();
    lzs.array() += mx + std::log(z);
  }
  if (logz) *logz = lzs;
}

// ------------------------------------------------------------------------------------------
// cycle (Strassen): diagonal of a product of kernel matrices
// ------------------------------------------------------------------------------------------
namespace {

// dst = a * b, computed on fixed row chunks, each by one thread with a single-threaded GEMM
// (Eigen does not split a product further inside a team of > 1 threads). A single chunk is a
// coefficient-wise product: serial for any thread count, no fork/join for small n.
void gemm_rows(const RowMat& a, const RowMat& b, RowMat& dst) {
  constexpr Index kChunk = 64;
  const Index n = a.rows(), chunks = (n + kChunk - 1) / kChunk;
  dst.resize(n, b.cols());
  if (chunks <= 1) {
    dst.noalias() = a.lazyProduct(b);
    return;
  }
#pragma omp parallel for schedule(static)
  for (Index k = 0; k < chunks; ++k) {
    const Index r0 = k * kChunk, rn = std::min(kChunk, n - r0);
    dst.middleRows(r0, rn).noalias() = a.middleRows(r0, rn) * b;
  }
}

}  // namespace

void poly_cycle(const Polynomial& h, const PolyInput& in, RowMat& out, Vec* logz) {
  check_input(h, in);
  if (!h.is_cycle()) throw Error("poly-attention algorithm " + poly_algorithm_unsupported(h, PolyAlgorithm::Cycle));
  const std::vector<int> ord = h.cycle_order();
  const int t = h.t;
  const Index n = in.q[0].rows(), dv = in.v[1].cols();
  // Kernels K_i: rows l_{v_i}, columns l_{v_{i+1}} (v_t = v_0 = the query variable).
  std::vector<RowMat> K(t);
  Vec rshift(n), cshift(n);
  double gshift = 0;
  for (int i = 0; i < t; ++i) {
    const int a = ord[i], b = ord[(i + 1) % t];
    gemm_rows(in.q[a], RowMat(in.beta * in.q[b].transpose()), K[i]);
    RowMat& k = K[i];
    if (i == 0) {
      for (Index r = 0; r < n; ++r) {
        rshift[r] = k.row(r).maxCoeff();
        k.row(r).array() -= rshift[r];
      }
    } else if (i == t - 1) {
      for (Index c = 0; c < n; ++c) {
        cshift[c] = k.col(c).maxCoeff();
        k.col(c).array() -= cshift[c];
      }
    } else {
      const double g = k.maxCoeff();
      gshift += g;
      k.array() -= g;
    }
    k = k.array().exp().matrix();
  }
  const RowMat klt = K[t - 1].transpose();  // klt(i, k) = K_last(k, i)
  // Chain product P = K_0 D_1 K_1 ... K_{t-2} D_{t-1}; diag read-out against K_last.
  auto chain_diag = [&](Index c, Vec& res) {  // c < 0: denominator (all D = I)
    RowMat P = K[0], tmp;
    for (int i = 1; i < t; ++i) {
      if (c >= 0) P.array().rowwise() *= in.v[ord[i]].col(c).transpose().array();
      if (i < t - 1) {
        gemm_rows(P, K[i], tmp);
        P.swap(tmp);
      }
    }
    res = (P.array() * klt.array()).rowwise().sum();
  };
  Vec den;
  chain_diag(-1, den);
  out.resize(n, dv);
  for (Index c = 0; c < dv; ++c) {
    Vec num;
    chain_diag(c, num);
    out.col(c) = num.array() / den.array();
  }
  if (logz) *logz = den.array().log() + rshift.array() + cshift.array() + gshift;
  // Rows whose shifted denominator left the normal range: exact recomputation by enumeration.
  std::vector<Index> bad;
  for (Index i = 0; i < n; ++i)
    if (!(den[i] > 1e-250) || !std::isfinite(den[i])) bad.push_back(i);
  if (!bad.empty()) {
    const Index nb = static_cast<Index>(bad.size());
    NaiveEval e{h, in, out, logz, bad.data()};
    stream_rows(e, nb, NaiveRows(h, in).columns(),
                double(nb) * std::pow(double(n), t - 1) >= kParallelTuples);
  }
}

// ------------------------------------------------------------------------------------------
// polynomial method: degree-g Taylor features, sums over tokens factorised by variable
// ------------------------------------------------------------------------------------------
void poly_polynomial(const Polynomial& h, const PolyInput& in, int g, RowMat& out, Vec* logz) {
  check_input(h, in);
  const int t = h.t, s = h.size();
  const Index n = in.q[0].rows(), dk = in.q[0].cols(), dv = in.v[1].cols();
  // Ordered coordinate tuples of length e <= g: R = sum_e dk^e features per monomial.
  std::vector<std::vector<Index>> tuples{{}};
  for (std::size_t b = 0; b < tuples.size(); ++b) {
    if (static_cast<int>(tuples[b].size()) == g) continue;
    for (Index c = 0; c < dk; ++c) {
      auto u = tuples[b];
      u.push_back(c);
      tuples.push_back(u);
    }
  }
  const Index R = static_cast<Index>(tuples.size());
  const double work = std::pow(double(R), s) * t * double(n) * double(dv + 1);
  if (work > 2e10)
    throw Error("poly-attention polynomial method: R^s t n dv = " + std::to_string(work) +
                " is too large (R = " + std::to_string(R) + " features, s = " +
                std::to_string(s) + " monomials); lower degree or dk");
  // F[mu][pos]: n x R feature matrix of variable monos[mu][pos]; coefficient beta^e/e! on pos 0.
  std::vector<std::vector<RowMat>> F(s);
  for (int mu = 0; mu < s; ++mu) {
    for (std::size_t pos = 0; pos < h.monos[mu].size(); ++pos) {
      const RowMat& Q = in.q[h.monos[mu][pos]];
      RowMat f(n, R);
      for (Index u = 0; u < R; ++u) {
        const auto& tup = tuples[u];
        double coef = 1;
        if (pos == 0)
          for (std::size_t e = 1; e <= tup.size(); ++e) coef *= in.beta / double(e);
        for (Index l = 0; l < n; ++l) {
          double p = coef;
          for (Index c : tup) p *= Q(l, c);
          f(l, u) = p;
        }
      }
      F[mu].push_back(std::move(f));
    }
  }
  out = RowMat::Zero(n, dv);
  Vec den = Vec::Zero(n);
  std::vector<Index> u(s, 0);
  Vec w(n), w0(n);
  Eigen::RowVectorXd S(dv), prodS(dv);
  for (;;) {
    // Query variable weights.
    w0.setOnes();
    for (int mu = 0; mu < s; ++mu)
      if (h.monos[mu][0] == 0) w0.array() *= F[mu][0].col(u[mu]).array();
    prodS.setOnes();
    double prodz = 1;
    for (int j = 1; j < t; ++j) {
      w.setOnes();
      for (int mu = 0; mu < s; ++mu) {
        const auto& m = h.monos[mu];
        for (std::size_t pos = 0; pos < m.size(); ++pos)
          if (m[pos] == j) w.array() *= F[mu][pos].col(u[mu]).array();
      }
      S.noalias() = w.transpose() * in.v[j];
      prodS.array() *= S.array();
      prodz *= w.sum();
    }
    out.noalias() += w0 * prodS;
    den += w0 * prodz;
    int mu = 0;
    while (mu < s && ++u[mu] == R) u[mu++] = 0;
    if (mu == s) break;
  }
  for (Index i = 0; i < n; ++i) out.row(i) /= den[i];
  if (logz) *logz = den.array().log();
}

void poly_attention(const Polynomial& h, PolyAlgorithm a, const PolyInput& in, RowMat& out,
                    Vec* logz, int degree) {
  if (a == PolyAlgorithm::Auto) a = auto_poly_algorithm(h);
  switch (a) {
    case PolyAlgorithm::Naive: return poly_naive(h, in, out, logz);
    case PolyAlgorithm::Tree: return poly_tree(h, in, out, logz);
    case PolyAlgorithm::Cycle: return poly_cycle(h, in, out, logz);
    case PolyAlgorithm::Polynomial: return poly_polynomial(h, in, degree, out, logz);
    case PolyAlgorithm::Auto: break;
  }
}

int poly_oracle_passes(const Polynomial& h, PolyAlgorithm a) {
  if (a == PolyAlgorithm::Auto) a = auto_poly_algorithm(h);
  return a == PolyAlgorithm::Tree ? std::max(1, h.size()) : 1;
}

double poly_cost(const Polynomial& h, PolyAlgorithm a, double n) {
  if (a == PolyAlgorithm::Auto) a = auto_poly_algorithm(h);
  switch (a) {
    case PolyAlgorithm::Tree: return (h.t - 1) * n * n;
    case PolyAlgorithm::Cycle: return n * n * n;
    case PolyAlgorithm::Polynomial: return n;
    default: return std::pow(n, h.t);
  }
}

}  // namespace attnflow
