// Damping schedule and the shared second-order model base (see sim/second_order.hpp;
// SympFormer arXiv 2603.16535, research/sympformer.md 3.1, 3.5, 4.3).
#include "sim/models/second_order.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace attnflow {

double Damping::alpha(double t) const {
  if (c_log != 0 && !(t > 0))
    throw Error("damping c_log / t needs t > 0 (got t = " + std::to_string(t) +
                "; start the run at integrator.t0 = 1)");
  return (c_log != 0 ? c_log / t : 0.0) + c_lin;
}

double Damping::delta_eta(double t0, double t1) const {
  double d = c_lin * (t1 - t0);
  if (c_log != 0) {
    if (!(t0 > 0) || !(t1 > 0))
      throw Error("damping c_log / t needs t > 0 (start the run at integrator.t0 = 1)");
    d += c_log * std::log(t1 / t0);
  }
  return d;
}

double Damping::sigma(double t0, double t1) const { return std::exp(-delta_eta(t0, t1)); }

double Damping::weight(double t0, double t1) const {
  const double h = t1 - t0;
  if (c_log == 0) {
    if (c_lin == 0) return h;
    const double x = c_lin * h;
    return std::abs(x) < 1e-8 ? h * (1 - x / 2) : -std::expm1(-x) / c_lin;
  }
  if (c_lin == 0) {
    // int (s/t1)^c ds = t1/(c+1) [1 - (t0/t1)^(c+1)]
    return t1 / (c_log + 1) * (1 - std::pow(t0 / t1, c_log + 1));
  }
  // General case: 16-point Gauss-Legendre (the integrand is smooth on [t0, t1]).
  static const double xg[8] = {0.0950125098376374, 0.2816035507792589, 0.4580167776572274,
                               0.6178762444026438, 0.7554044083550030, 0.8656312023878318,
                               0.9445750230732326, 0.9894009349916499};
  static const double wg[8] = {0.1894506104550685, 0.1826034150449236, 0.1691565193950025,
                               0.1495959888165767, 0.1246289712555339, 0.0951585116824928,
                               0.0622535239386479, 0.0271524594117541};
  const double mid = (t0 + t1) / 2, half = h / 2;
  double sum = 0;
  for (int k = 0; k < 8; ++k)
    for (double sg : {-1.0, 1.0}) {
      const double s = mid + sg * half * xg[k];
      sum += wg[k] * std::exp(-delta_eta(s, t1));
    }
  return sum * half;
}


Damping read_damping(Section& m, const std::string& def) {
  Damping d;
  const std::string kind = m.choice("damping", {"nesterov", "constant", "log_lin", "none"}, def);
  if (kind == "nesterov") {
    d.c_log = 3;
  } else if (kind == "constant") {
    d.c_lin = m.non_negative("alpha", 1.0);
  } else if (kind == "log_lin") {
    d.c_log = m.non_negative("c_log", 3.0);
    d.c_lin = m.non_negative("c_lin", 1e-4);
  }
  return d;
}

std::vector<KeyDoc> damping_key_docs(const std::string& def) {
  const std::string src = "SympFormer (Stein, Li, Steidl, arXiv 2603.16535), damping alpha(t)";
  return {
      {"damping", "choice", "\"" + def + "\"", "\"nesterov\" | \"constant\" | \"log_lin\" | \"none\"",
       "friction alpha(t) in y' = ... - alpha(t) y: nesterov 3/t (needs integrator.t0 > 0), "
       "constant alpha, log_lin c_log/t + c_lin (needs t0 > 0 when c_log > 0), none "
       "(conservative: H_N is conserved)", src},
      {"alpha", "number", "1.0", ">= 0", "constant friction", src, "damping = \"constant\""},
      {"c_log", "number", "3.0", ">= 0", "coefficient of 1/t", src, "damping = \"log_lin\""},
      {"c_lin", "number", "0.0001", ">= 0", "constant part", src, "damping = \"log_lin\""},
  };
}

std::vector<ModelObservableDoc> hamiltonian_observable_docs() {
  return {
      {"energy", "the potential part of H_N", ""},
      {"hamiltonian", "H_N = kinetic + potential (conserved with damping = \"none\", "
                      "non-increasing with damping)", ""},
      {"kinetic_energy", "the kinetic part of H_N", ""},
      {"oracle_calls", "attention-oracle calls so far (the cost measure of SympFormer's blocks)", ""},
  };
}

HamiltonianModel::HamiltonianModel(Shape shape, Space space, Damping damping)
    : Flow(shape, space) {
  damping_ = damping;
}

void HamiltonianModel::rhs(double t, ConstStateView s, StateView ds) {
  oracle(t, s.x(), s.y(), F_, G_);
  ds.x() = F_;
  const double a = damping_.none() ? 0.0 : damping_.alpha(t);
  ds.y() = G_ - a * s.y();
}

ModelRecipe hamiltonian_recipe(const Damping& d, const TokensSpec& tokens, double passes) {
  ModelRecipe r;
  r.traits.second_order = true;
  r.traits.needs_positive_t0 = d.needs_positive_t0();
  r.observables = HamiltonianModel::base_observables();
  r.pairs_per_rhs = passes * double(tokens.n) * double(tokens.n);
  return r;
}

double HamiltonianModel::observable(const std::string& name, double t, ConstStateView s) {
  if (name == "energy") return potential_energy(s);
  if (name == "hamiltonian") return hamiltonian(s);
  if (name == "kinetic_energy") return kinetic_energy(s);
  if (name == "oracle_calls") return static_cast<double>(counters.oracle_calls);
  return Model::observable(name, t, s);
}

SecondOrderModel& require_second_order(Flow& m, const std::string& integrator) {
  auto* so = dynamic_cast<SecondOrderModel*>(&m);
  if (!so)
    throw ConfigError("integrator \"" + integrator + "\" is a block scheme for second-order " +
                      "(Hamiltonian) models; model \"" + m.kind() +
                      "\" is not one (use accelerated_attention, accelerated_linear_attention or "
                      "accelerated_svgd, or a general integrator such as rk4)");
  return *so;
}

void tao_step(OracleCounter& oc, State& s, double t, double h, double xi, bool conformal) {
  const Damping& dmp = oc.so.damping();
  const bool damped = conformal && !dmp.none();
  auto e_eta = [&](double tt) { return damped ? std::exp(dmp.delta_eta(t, tt)) : 1.0; };
  RowMat X = s.x(), P = s.y(), Xb = X, Pb = P, F, G, p;
  double ta = t, tb = t;
  const double tau = h / 2;
  auto oracle = [&](double tt, const RowMat& x, const RowMat& pi, RowMat& vel, RowMat& force) {
    const double e = e_eta(tt);
    p = pi / e;
    oc.call(tt, cmap(x), cmap(p), vel, force);
    force *= e;
  };
  auto phiA = [&] {  // H(X, Pb): Pi and Xbar move
    oracle(ta, X, Pb, F, G);
    P += tau * G;
    Xb += tau * F;
    tb += tau;
  };
  auto phiB = [&] {  // H(Xbar, Pi): X and Pibar move
    oracle(tb, Xb, P, F, G);
    X += tau * F;
    Pb += tau * G;
    ta += tau;
  };
  const double theta = std::min(2 * xi * h, 1.0), c = std::cos(theta), sn = std::sin(theta);
  phiA();
  phiB();
  {
    const RowMat dX = X - Xb, dP = P - Pb, sX = X + Xb, sP = P + Pb;
    X = 0.5 * (sX + c * dX + sn * dP);
    P = 0.5 * (sP - sn * dX + c * dP);
    Xb = 0.5 * (sX - c * dX - sn * dP);
    Pb = 0.5 * (sP + sn * dX - c * dP);
  }
  phiB();
  phiA();
  s.x() = X;
  s.y() = P / e_eta(t + h);
}

bool is_symmetric(const RowMat& a, double tol) {
  return (a - a.transpose()).cwiseAbs().maxCoeff() <= tol * (1 + a.cwiseAbs().maxCoeff());
}

bool is_spd(const RowMat& a) {
  if (!is_symmetric(a, 1e-10)) return false;
  Eigen::SelfAdjointEigenSolver<RowMat> es(a);
  return es.info() == Eigen::Success && es.eigenvalues().minCoeff() > 0;
}

}  // namespace attnflow
