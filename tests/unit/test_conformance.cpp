// Conformance: the tests every registered integrator and model gets without writing a test.
//
//   every integrator: its order() is what halving dt measures (fixed-step: on a closed form for
//     flows, x' = x^3; on SympFormer's accelerated linear attention against a fine RK4 for the
//     second-order blocks); adaptive ones meet their tolerance;
//   every model: at least one scenario in scenarios/ uses it; on that scenario's initial state
//     (and on a perturbed one) its RHS or layer is finite; it gives bit-identical results with 1
//     and 2 OpenMP threads; a run interrupted after two frames and resumed from the file ends
//     with the same bits as an uninterrupted run.
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "sim/core/rng.hpp"
#include "sim/io/h5md_writer.hpp"
#include "sim/io/resume.hpp"
#include "sim/io/run_file.hpp"
#include "sim/run/init.hpp"

using namespace attnflow;
namespace fs = std::filesystem;

namespace {

// ---- integrators -------------------------------------------------------------------------

// x' = x^3 (linear attention with N = d = 1, A = V = 1): x(t) = x0 / sqrt(1 - 2 x0^2 t).
const char* kCubic = R"(
[tokens]
n = 1
d = 1
init = "file"
path = "CSV"
[model]
kind = "linear_attention"
A = [[1.0]]
V = [[1.0]]
[integrator]
t_end = 1.0
)";

// A second-order problem every block scheme applies to (research/sympformer.md 3.4).
const char* kSecondOrder = R"(
[tokens]
n = 6
d = 2
[model]
kind = "accelerated_linear_attention"
A = [[0.5, 0.1], [0.1, 0.3]]
V = [[0.4, 0.0], [0.0, -0.3]]
damping = "log_lin"
c_log = 3.0
c_lin = 0.2
[integrator]
t0 = 1.0
t_end = 2.0
)";

std::unique_ptr<Integrator> make_integrator(const std::string& kind, double dt, double rtol = 1e-8) {
  IntegratorSpec spec;
  spec.kind = kind;
  spec.dt = dt;
  spec.rtol = rtol;
  spec.atol = rtol * 1e-2;
  return IntegratorRegistry::find(kind)->make(spec);
}

State advance(Flow& m, State s, const std::string& kind, double t0, double t1, double dt,
              double rtol = 1e-8) {
  auto in = make_integrator(kind, dt, rtol);
  StepStats st;
  double t = t0;
  in->advance(m, s, t, t1, st);
  return s;
}

struct Problem {
  Scenario sc;
  std::unique_ptr<Flow> flow;
  State s0;
  double t0, t1;
  std::function<double(const State&)> error;  // against the exact (or fine) solution
};

Problem cubic() {
  const std::string csv = "/tmp/attnflow_conformance_x0_" + std::to_string(::getpid()) + ".csv";
  FILE* f = std::fopen(csv.c_str(), "w");
  std::fprintf(f, "0.5\n");
  std::fclose(f);
  std::string text = kCubic;
  text.replace(text.find("CSV"), 3, csv);
  Problem p{test::scenario(text), nullptr, State(), 0.0, 1.0, nullptr};
  p.flow = test::build_flow(p.sc);
  p.s0 = initial_state(p.sc);
  const double exact = 0.5 / std::sqrt(1 - 2 * 0.25 * 1.0);
  p.error = [exact](const State& s) { return std::abs(s.x()(0, 0) - exact); };
  return p;
}

// A separable Hamiltonian (the order of velocity Verlet and friends holds only there).
Problem separable() {
  Problem p{test::scenario(kSecondOrder), nullptr, State(), 1.0, 2.0, nullptr};
  p.flow = std::make_unique<test::Quadratic>(3, 2, RowMat{{1.0, 0.3}, {0.3, 2.0}},
                                             RowMat{{2.0, 0.5}, {0.5, 1.0}}, Damping{3.0, 0.1});
  Rng rng(2);
  p.s0 = State(p.flow->shape());
  for (Index k = 0; k < p.s0.u.size(); ++k) p.s0.u[k] = rng.normal();
  auto ref = std::make_shared<State>(advance(*p.flow, p.s0, "rk4", 1.0, 2.0, 1e-4));
  p.error = [ref](const State& s) { return (s.u - ref->u).norm(); };
  return p;
}

Problem second_order() {
  Problem p{test::scenario(kSecondOrder), nullptr, State(), 1.0, 2.0, nullptr};
  p.flow = test::build_flow(p.sc);
  Rng rng(17);
  p.s0 = State(p.sc.shape());
  for (Index k = 0; k < p.s0.u.size(); ++k) p.s0.u[k] = 0.6 * rng.normal();
  auto ref = std::make_shared<State>(advance(*p.flow, p.s0, "rk4", 1.0, 2.0, 1e-4));
  p.error = [ref](const State& s) { return (s.u - ref->u).norm(); };
  return p;
}

// ---- models ------------------------------------------------------------------------------

// The cheapest scenario of every model kind among scenarios/*.toml.
std::map<std::string, std::string> scenario_per_model() {
  std::map<std::string, std::pair<double, std::string>> best;
  LoadOptions lo;
  lo.claim_windows = false;
  for (const auto& e : fs::directory_iterator(fs::path(ATTNFLOW_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".toml") continue;
    const Scenario sc = load_scenario(e.path().string(), {}, lo);
    const double cost = sc.estimated_pairs + double(sc.tokens.n) * double(sc.tokens.d);
    auto it = best.find(sc.model_kind);
    if (it == best.end() || cost < it->second.first) best[sc.model_kind] = {cost, e.path().string()};
  }
  std::map<std::string, std::string> out;
  for (auto& [k, v] : best) out[k] = v.second;
  return out;
}

// The scenario shortened to `steps` steps (or layers) and steps + 1 frames; with `big`, at a size
// where the kernels run in parallel if the model allows it (tokens.n = 600).
Scenario shortened(const std::string& path, int steps, bool big) {
  LoadOptions lo;
  lo.claim_windows = false;
  Scenario sc;
  try {
    sc = load_scenario(path, big ? std::vector<std::string>{"tokens.n=600"} : std::vector<std::string>{}, lo);
  } catch (const ConfigError&) {
    sc = load_scenario(path, {}, lo);
  }
  auto& in = sc.integrator;
  if (sc.layers_mode()) {
    in.layers = steps;
    in.t_end = in.t0 + steps * in.dt;
  } else if (sc.integrator_info->adaptive) {
    in.t_end = in.t0 + steps * in.dt;
  } else {
    in.t_end = in.t0 + steps * in.dt;
  }
  sc.run.save_every = 0;
  sc.run.frames = steps + 1;
  return sc;
}

// One evaluation (RHS or layer) at state s with `threads` OpenMP threads.
Vec evaluate(Model& m, const State& s, double t, double h, int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Vec out;
  if (auto* f = dynamic_cast<Flow*>(&m)) {
    State ds(s.shape);
    f->rhs(t, s.view(), ds.view());
    out = ds.u;
  } else {
    State s2 = s;
    dynamic_cast<LayerMap&>(m).layer(t, h, s2);
    out = s2.u;
  }
  omp_set_num_threads(saved);
  return out;
}

}  // namespace

TEST_CASE("every registered integrator has the order it declares (halving dt)") {
  const Problem first = cubic(), second = second_order(), sep = separable();
  for (const auto& kind : IntegratorRegistry::names()) {
    CAPTURE(kind);
    const IntegratorInfo& info = *IntegratorRegistry::find(kind);
    const Problem& p = !info.needs_second_order ? first : info.separable_order ? sep : second;
    if (info.adaptive) {
      // Adaptive: the error follows the tolerance instead of dt.
      const double e1 = p.error(advance(*p.flow, p.s0, kind, p.t0, p.t1, 0.1, 1e-6));
      const double e2 = p.error(advance(*p.flow, p.s0, kind, p.t0, p.t1, 0.1, 1e-10));
      CHECK(e1 < 1e-4);
      CHECK(e2 < e1 * 1e-2);
      continue;
    }
    const int order = make_integrator(kind, 0.1)->order();
    const double h = order >= 4 ? 0.05 : 0.02;
    const double e2 = p.error(advance(*p.flow, p.s0, kind, p.t0, p.t1, h / 2));
    const double e4 = p.error(advance(*p.flow, p.s0, kind, p.t0, p.t1, h / 4));
    const double measured = std::log2(e2 / e4);
    MESSAGE(kind << ": declared order " << order << ", measured " << measured);
    CHECK(measured == doctest::Approx(order).epsilon(0.1));
  }
}

TEST_CASE("every registered model has a scenario, a finite RHS, thread bit-identity and resume identity") {
  const auto scenarios = scenario_per_model();
  for (const auto& kind : ModelRegistry::names()) {
    CAPTURE(kind);
    auto it = scenarios.find(kind);
    REQUIRE_MESSAGE(it != scenarios.end(), "no scenario in scenarios/ uses model \"" << kind << "\"");
    CAPTURE(it->second);
    const Scenario big = shortened(it->second, 3, true), sc = shortened(it->second, 3, false);

    // Finite RHS / layer on the initial state and on a perturbed state; 1 vs 2 threads.
    auto model = big.build_model(big.run.seed);
    State s = initial_state(big);
    model->initialize(s, big.run.seed);
    model->retract(s);
    Rng rng(3);
    State p = s;
    for (Index k = 0; k < p.u.size(); ++k) p.u[k] += 0.05 * rng.normal();
    model->retract(p);
    for (const State* st : {&s, &p}) {
      const double t = big.integrator.t0;
      const Vec one = evaluate(*model, *st, t, big.integrator.dt, 1);
      const Vec two = evaluate(*model, *st, t, big.integrator.dt, 2);
      CHECK(one.allFinite());
      CHECK(one == two);
    }

    // Interrupted after 2 of 4 frames, resumed: the same last frame, bit for bit.
    const std::string full = test::tmp_h5("conformance_full"), part = test::tmp_h5("conformance_part");
    test::run_full_and_resumed(sc, full, part, 2);
    const ResumePoint a = read_resume_point(full), b = read_resume_point(part);
    CHECK(a.frames == 4);
    CHECK(b.frames == 4);
    CHECK(a.x == b.x);
    CHECK(a.y == b.y);
    CHECK(a.t == b.t);
    test::remove_run(full);
    test::remove_run(part);
  }
}
