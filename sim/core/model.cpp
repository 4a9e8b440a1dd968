#include "sim/core/model.hpp"

namespace attnflow {

void Model::project_tangent(CMatMap x, MatMap v) {
  for (Index i = 0; i < x.rows(); ++i) v.row(i) -= x.row(i).dot(v.row(i)) * x.row(i);
}

void Model::retract(State& s) const {
  if (space_ != Space::Sphere) return;
  auto x = s.x();
  for (Index i = 0; i < x.rows(); ++i) {
    const double nrm = x.row(i).norm();
    if (nrm > 0) x.row(i) /= nrm;
  }
}

}  // namespace attnflow
