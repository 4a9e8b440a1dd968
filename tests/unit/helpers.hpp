#pragma once
// Shared test helpers: scenarios from text, runs without output, brute-force references.
#include <string>

#include "sim/config/scenario.hpp"
#include "sim/models/second_order.hpp"
#include "sim/run/simulation.hpp"

namespace attnflow::test {

// A scenario from TOML text; output goes nowhere unless a test asks for it.
inline Scenario scenario(const std::string& text, const std::vector<std::string>& sets = {}) {
  return load_scenario_text(text, "test.toml", sets);
}

// The scenario's model as a flow (throws if it is a layer map), for `seed`.
inline std::unique_ptr<Flow> build_flow(const Scenario& sc, std::uint64_t seed = 1) {
  std::unique_ptr<Model> m = sc.build_model(seed);
  auto* f = dynamic_cast<Flow*>(m.get());
  if (!f) throw Error(m->kind() + " is not a flow");
  m.release();
  return std::unique_ptr<Flow>(f);
}

// Runs a scenario in memory and returns the final state.
inline State run_final(const Scenario& sc) {
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  return sim.state();
}

// Materialised reference: softmax(beta (X Q^T)(X K^T)^T) X V^T, or with 1/N instead of the
// row normalisation. Builds the N x N matrix on purpose.
inline RowMat attention_reference(const RowMat& x, const RowMat& Q, const RowMat& K,
                                  const RowMat& V, double beta, bool softmax) {
  const RowMat s = beta * (x * Q.transpose()) * (x * K.transpose()).transpose();
  RowMat w(s.rows(), s.cols());
  for (Index i = 0; i < s.rows(); ++i) {
    const double m = softmax ? s.row(i).maxCoeff() : 0.0;
    for (Index j = 0; j < s.cols(); ++j) w(i, j) = std::exp(s(i, j) - m);
    if (softmax)
      w.row(i) /= w.row(i).sum();
    else
      w.row(i) /= static_cast<double>(s.cols());
  }
  return w * (x * V.transpose());
}

// Separable quadratic Hamiltonian H = 1/2 y^T Minv y + 1/2 x^T K x per token (c = 1).
class Quadratic : public HamiltonianModel {
 public:
  Quadratic(Index n, Index d, RowMat minv, RowMat k, Damping dmp)
      : HamiltonianModel(Shape{n, d, true}, Space::Euclidean, dmp), minv_(std::move(minv)),
        k_(std::move(k)) {}
  std::string kind() const override { return "test_quadratic"; }
  double symplectic_scale() const override { return 1.0; }
  void oracle(double, CMatMap x, CMatMap y, RowMat& F, RowMat& G) override {
    velocity(y, F);
    G = -(x * k_);
  }
  int velocity(CMatMap y, RowMat& F) override {
    F = y * minv_;
    return 0;
  }
  double kinetic_energy(ConstStateView s) override {
    return 0.5 * (s.y() * minv_).cwiseProduct(s.y()).sum();
  }
  double potential_energy(ConstStateView s) override {
    return 0.5 * (s.x() * k_).cwiseProduct(s.x()).sum();
  }
  double hamiltonian(ConstStateView s) override { return kinetic_energy(s) + potential_energy(s); }

 private:
  RowMat minv_, k_;
};

}  // namespace attnflow::test
