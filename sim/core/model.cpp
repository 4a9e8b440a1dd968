#include "sim/core/model.hpp"

#include <cmath>
#include <sstream>

namespace attnflow {

void Model::project_tangent(CMatMap x, MatMap v) {
  for (Index i = 0; i < x.rows(); ++i) v.row(i) -= x.row(i).dot(v.row(i)) * x.row(i);
}

void Model::retract(State& s) const {
  if (space_ != Space::Sphere) return;
  auto x = s.x();
  for (Index i = 0; i < x.rows(); ++i) {
    // stableNorm scales before squaring: rows with huge entries normalise instead of overflowing
    // to inf (which turned them into zero vectors).
    const double sq = x.row(i).squaredNorm();
    const double nrm = sq > 1e-280 && sq < 1e280 ? std::sqrt(sq) : x.row(i).stableNorm();
    if (nrm > 0 && std::isfinite(nrm)) {
      x.row(i) /= nrm;
    } else if (nrm == 0) {
      std::ostringstream os;
      os << "token " << i << " is the zero vector: it cannot be put on the sphere";
      throw NumericalError(os.str());
    }
  }
}

}  // namespace attnflow
