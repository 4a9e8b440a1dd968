#include "sim/run/init.hpp"

#include <cmath>

#include "sim/core/rng.hpp"

namespace attnflow {
namespace {

// Rows onto the unit sphere; stableNorm scales before squaring, so huge rows do not overflow.
void normalise_rows(RowMat& x) {
  for (Index i = 0; i < x.rows(); ++i) {
    const double nrm = x.row(i).stableNorm();
    if (nrm > 0) x.row(i) /= nrm;
  }
}

}  // namespace

State initial_state(const Scenario& sc, std::uint64_t seed) {
  const TokensSpec& t = sc.tokens;
  const Index n = t.n, d = t.d;
  State s(sc.shape());
  Rng rng = Rng::stream(seed, "tokens.init");
  RowMat x(n, d);
  auto gauss = [&](RowMat& m) {
    for (Index i = 0; i < m.rows(); ++i)
      for (Index j = 0; j < m.cols(); ++j) m(i, j) = rng.normal();
  };
  const Vec mean = t.mean.size() == d ? t.mean : Vec::Zero(d);
  const RowMat cov = t.cov.rows() == d ? t.cov : RowMat::Identity(d, d);
  if (t.init == "gaussian" || t.init == "elliptical_t") {
    const RowMat L = Eigen::LLT<RowMat>(cov).matrixL();
    gauss(x);
    x = x * L.transpose();
    if (t.init == "elliptical_t")
      for (Index i = 0; i < n; ++i) x.row(i) /= std::sqrt(rng.chi2(t.nu) / t.nu);
    x.rowwise() += mean.transpose();
  } else if (t.init == "uniform_sphere") {
    gauss(x);
    normalise_rows(x);
  } else if (t.init == "orthogonal") {
    x = RowMat::Identity(n, d);
  } else if (t.init == "clusters") {
    RowMat centres(t.clusters, d);
    gauss(centres);
    if (t.space == Space::Sphere) normalise_rows(centres);
    gauss(x);
    for (Index i = 0; i < n; ++i) x.row(i) = centres.row(i % t.clusters) + t.spread * x.row(i);
  } else if (t.init == "hemisphere") {
    // Rejection from the uniform distribution on the sphere into the cap around e_1.
    const double c = std::cos(t.spread);
    Eigen::RowVectorXd v(d);
    for (Index i = 0; i < n; ++i) {
      do {
        for (Index j = 0; j < d; ++j) v[j] = rng.normal();
        v.normalize();
      } while (!(v[0] > c));
      x.row(i) = v;
    }
  } else if (t.init == "file" || t.init == "values") {
    x = t.x0;  // read (and checked) when the scenario was loaded
  } else {
    throw ConfigError("unknown tokens.init '" + t.init + "'");
  }
  if (t.space == Space::Sphere) {
    for (Index i = 0; i < n; ++i)
      if (x.row(i).norm() == 0)
        throw ConfigError("token " + std::to_string(i) + " is zero and cannot be put on the sphere");
    normalise_rows(x);
  }
  s.x() = x;
  if (s.shape.momentum) {
    if (t.momentum == "gaussian") {
      Rng mr = Rng::stream(seed, "tokens.momentum");
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) s.y()(i, j) = t.momentum_scale * mr.normal();
    } else if (t.momentum == "affine") {
      s.y() = (x * t.P0.transpose()).rowwise() + t.c0.transpose();
    } else {
      s.y().setZero();
    }
  }
  return s;
}

}  // namespace attnflow
