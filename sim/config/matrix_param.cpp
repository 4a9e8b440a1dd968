#include "sim/config/matrix_param.hpp"

#include "sim/core/rng.hpp"

namespace attnflow {

RowMat MatrixParam::resolve(Index d, std::uint64_t seed) const {
  switch (kind) {
    case Kind::Identity: return RowMat::Identity(d, d);
    case Kind::MinusIdentity: return -RowMat::Identity(d, d);
    case Kind::GaussianProduct: {  // G1 G2 / sqrt(d), G1, G2 i.i.d. N(0, 1): entries of variance 1
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat g1(d, d), g2(d, d);
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g1(i, j) = rng.normal();
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g2(i, j) = rng.normal();
      return g1 * g2 / std::sqrt(static_cast<double>(d));
    }
    case Kind::Goe: {  // (G + G^T) / sqrt(2 d): off-diagonal variance 1/d, diagonal 2/d
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat g(d, d);
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = rng.normal();
      return (g + g.transpose()) / std::sqrt(2.0 * static_cast<double>(d));
    }
    case Kind::Zero: return RowMat::Zero(d, d);
    case Kind::Explicit: return value;
    case Kind::Random: {
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat m(d, d);
      const double s = 1.0 / std::sqrt(static_cast<double>(d));
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) m(i, j) = s * rng.normal();
      return m;
    }
    case Kind::RandomSpd: {
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat g(d, d);
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = rng.normal();
      RowMat m = RowMat::Identity(d, d) + g * g.transpose() / static_cast<double>(d);
      return 0.5 * (m + m.transpose());
    }
  }
  return {};
}

MatrixParam read_matrix_param(Section& s, const std::string& key, Index d,
                              const std::string& def) {
  MatrixParam p;
  p.key = key;
  if (s.is_array(key)) {
    p.kind = MatrixParam::Kind::Explicit;
    p.value = s.matrix(key);
    if (p.value.rows() != d || p.value.cols() != d)
      s.fail(key, "must be a " + std::to_string(d) + " x " + std::to_string(d) +
                      " matrix to match tokens.d = " + std::to_string(d) + " (got " +
                      std::to_string(p.value.rows()) + " x " + std::to_string(p.value.cols()) + ")");
    return p;
  }
  const std::string v = s.choice(
      key, {"identity", "-identity", "random", "gaussian_product", "goe", "random_spd", "zero"}, def);
  p.kind = v == "identity"           ? MatrixParam::Kind::Identity
           : v == "-identity"        ? MatrixParam::Kind::MinusIdentity
           : v == "random"           ? MatrixParam::Kind::Random
           : v == "gaussian_product" ? MatrixParam::Kind::GaussianProduct
           : v == "goe"              ? MatrixParam::Kind::Goe
           : v == "zero"             ? MatrixParam::Kind::Zero
                                     : MatrixParam::Kind::RandomSpd;
  return p;
}

}  // namespace attnflow
