#pragma once
// Second-order (damped Hamiltonian) models and what the SympFormer block integrators need from
// them (Stein, Li, Steidl, "SympFormer", arXiv 2603.16535; research/sympformer.md sections 3-4).
//
// State (x, y): x = positions N x d, y = momenta N x d (Shape::momentum). Every model here is
//
//     x' = F(x, y) = c dH/dy,      y' = G(x, y) - alpha(t) y,   G = -c dH/dx,
//
// with a particle Hamiltonian H (observable "hamiltonian") and a convention constant c
// (c = N for the density-consistent normalisation, sympformer.md 3.3a/3.4, symplectic form
// (1/N) sum dx_i ^ dy_i; c = 1 for the authors' v1 convention 3.3b).
//
// Damping (sympformer.md 3.1, 3.5):  alpha(t) = c_log / t + c_lin,
//     eta(t)   = c_log log t + c_lin t                (defined up to a constant; only
//                                                      differences are used)
//     sigma    = exp(-(eta(t1) - eta(t0)))            exact damping over [t0, t1]
//     weight   = int_{t0}^{t1} exp(-(eta(t1) - eta(s))) ds   (exact variation-of-constants)
// Special cases: Nesterov 3/t (c_log = 3), constant (c_lin), none. c_log != 0 needs t > 0
// (SympFormer starts layers at t0 = 1).
//
// The oracle (sympformer.md 4.1): one attention-kernel evaluation at x returns F(x, y) and G(x, y)
// together; velocity(y') then gives F(x, y') at the same x reusing the kernel (no new pass for
// softmax and bilinear kernels). Block integrators call these through `OracleCounter`, which
// adds one to model.counters.oracle_calls (and rhs_evals) per oracle call.
#include <string>

#include "sim/core/model.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"

namespace attnflow {

struct Damping {
  double c_log = 0, c_lin = 0;
  double alpha(double t) const;
  double delta_eta(double t0, double t1) const;
  double sigma(double t0, double t1) const;
  double weight(double t0, double t1) const;
  bool none() const { return c_log == 0 && c_lin == 0; }
  // c_log / t is singular at t = 0: such runs must start at integrator.t0 > 0.
  bool needs_positive_t0() const { return c_log != 0; }
};

// Reads [model] damping = "nesterov" (3/t) | "constant" (alpha = a, default 1) | "log_lin" (c_log, c_lin;
// defaults 3 and 1e-4 as in the authors' code) | "none". Default `def`.
Damping read_damping(Section& m, const std::string& def = "nesterov");
// The keys read_damping reads (`attnflow help model KIND`).
std::vector<KeyDoc> damping_key_docs(const std::string& def);
// The observables every HamiltonianModel offers (base_observables()), documented.
std::vector<ModelObservableDoc> hamiltonian_observable_docs();

class SecondOrderModel {
 public:
  virtual ~SecondOrderModel() = default;

  // One oracle evaluation at (x, y): F = c dH/dy, G = -c dH/dx (no damping). Caches the kernel
  // data of x for velocity(). F and G are resized to N x d.
  virtual void oracle(double t, CMatMap x, CMatMap y, RowMat& F, RowMat& G) = 0;
  // F(x, y') at the x of the last oracle() call. Returns the number of extra oracle calls this
  // costs (0 when the kernel data of x suffice; 1 when a new pair pass is needed).
  virtual int velocity(CMatMap y, RowMat& F) = 0;

  virtual double hamiltonian(ConstStateView s) = 0;
  virtual double kinetic_energy(ConstStateView s) = 0;
  virtual double potential_energy(ConstStateView s) = 0;
  // The convention constant c above (N or 1).
  virtual double symplectic_scale() const = 0;

  const Damping& damping() const { return damping_; }
  void set_damping(const Damping& d) { damping_ = d; }

 protected:
  Damping damping_;
};

// Base for the models of this family: Model::rhs = (F, G - alpha y) through one oracle call;
// observables energy (potential part), hamiltonian, kinetic_energy, oracle_calls.
class HamiltonianModel : public Flow, public SecondOrderModel {
 public:
  HamiltonianModel(Shape shape, Space space, Damping damping);
  void rhs(double t, ConstStateView s, StateView ds) override;
  double observable(const std::string& name, double t, ConstStateView s) override;
  // The observables every model of this family offers.
  static std::vector<std::string> base_observables() {
    return {"energy", "hamiltonian", "kinetic_energy", "oracle_calls"};
  }

 protected:
  RowMat F_, G_;
};

// Returns the second-order interface of m or throws Error naming the integrator.
SecondOrderModel& require_second_order(Flow& m, const std::string& integrator);

// Counted access for block integrators.
struct OracleCounter {
  Flow& model;
  SecondOrderModel& so;
  void call(double t, CMatMap x, CMatMap y, RowMat& F, RowMat& G) {
    ++model.counters.oracle_calls;
    ++model.counters.rhs_evals;
    so.oracle(t, x, y, F, G);
  }
  void call(double t, const State& s, RowMat& F, RowMat& G) { call(t, s.x(), s.y(), F, G); }
  void velocity(CMatMap y, RowMat& F) { model.counters.oracle_calls += so.velocity(y, F); }
  void velocity(const State& s, RowMat& F) { velocity(s.y(), F); }
};

// One step of Tao's explicit second-order integrator for nonseparable Hamiltonians in the
// conformal variables Pi = e^{eta(t) - eta(t_k)} Y (FJV section 6.2 + Tao 2016;
// research/sympformer.md 4.3 scheme 7). Four oracle calls. `conformal` = false integrates the
// conservative system (eta = 0; used by the Strang splitting). Coupling xi: theta = 2 xi h,
// clipped to theta <= 1.
void tao_step(OracleCounter& oc, State& s, double t, double h, double xi, bool conformal);

inline CMatMap cmap(const RowMat& m) { return CMatMap(m.data(), m.rows(), m.cols()); }

// The recipe fields every model of this family shares: second order, observables, t0 > 0 when
// the damping has a c_log / t term, cost estimate.
ModelRecipe hamiltonian_recipe(const Damping& d, const TokensSpec& tokens, double passes = 1);

// Validation helpers shared by the model readers.
bool is_symmetric(const RowMat& a, double tol = 1e-12);
bool is_spd(const RowMat& a);

}  // namespace attnflow
