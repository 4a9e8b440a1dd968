#include "sim/run/init.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "sim/core/rng.hpp"

namespace attnflow {
namespace {

RowMat read_csv(const std::string& path, Index n, Index d) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open initial-condition file");
  RowMat x(n, d);
  std::string line;
  Index row = 0;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    if (row >= n)
      throw ConfigError(path + ":" + std::to_string(lineno) + ":1: more than tokens.n = " +
                        std::to_string(n) + " rows");
    std::stringstream ss(line);
    std::string cell;
    Index col = 0;
    while (std::getline(ss, cell, ',')) {
      if (col >= d)
        throw ConfigError(path + ":" + std::to_string(lineno) + ":1: more than tokens.d = " +
                          std::to_string(d) + " columns");
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      while (end && *end == ' ') ++end;
      if (end == cell.c_str() || (end && *end != '\0' && *end != '\r') || !std::isfinite(v))
        throw ConfigError(path + ":" + std::to_string(lineno) + ":1: not a finite number: '" +
                          cell + "'");
      x(row, col++) = v;
    }
    if (col != d)
      throw ConfigError(path + ":" + std::to_string(lineno) + ":1: expected " +
                        std::to_string(d) + " columns, got " + std::to_string(col));
    ++row;
  }
  if (row != n)
    throw ConfigError(path + ": expected tokens.n = " + std::to_string(n) + " rows, got " +
                      std::to_string(row));
  return x;
}

void normalise_rows(RowMat& x) {
  for (Index i = 0; i < x.rows(); ++i) {
    const double nrm = x.row(i).norm();
    if (nrm > 0) x.row(i) /= nrm;
  }
}

}  // namespace

State initial_state(const Scenario& sc) {
  const TokensSpec& t = sc.tokens;
  const Index n = t.n, d = t.d;
  State s(sc.shape());
  Rng rng = Rng::stream(sc.run.seed, "tokens.init");
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
  } else if (t.init == "file") {
    x = read_csv(t.path, n, d);
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
      Rng mr = Rng::stream(sc.run.seed, "tokens.momentum");
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
