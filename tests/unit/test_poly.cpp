// Poly-attention (Chakrabarti, Pitassi, Alman, arXiv 2602.02422; research note
// polyattention.md): parser validation, every fast algorithm against the naive enumeration,
// the polynomial-method error, thread independence, the t-body energy gradient, and the
// polyadic task constructions (correct with the default Lambda, wrong with a weakened one).
#include <omp.h>

#include <doctest/doctest.h>

#include <string>

#include "sim/kernels/poly_algorithms.hpp"
#include "sim/kernels/poly_polynomial.hpp"
#include "sim/core/rng.hpp"
#include "helpers.hpp"

using namespace attnflow;

namespace {

RowMat rand_mat(Index r, Index c, Rng& rng, double scale) {
  RowMat m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = scale * rng.normal();
  return m;
}

PolyInput random_input(const Polynomial& h, Index n, Index dk, Index dv, Rng& rng,
                       double scale = 0.6) {
  PolyInput in;
  for (int j = 0; j < h.t; ++j) {
    in.q.push_back(rand_mat(n, dk, rng, scale));
    in.v.push_back(rand_mat(n, dv, rng, 1.0));
  }
  in.beta = 1.0;
  return in;
}

double rel_err(const RowMat& a, const RowMat& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff());
}

std::string parse_error(const std::string& text) {
  try {
    parse_polynomial(text);
  } catch (const PolyParseError& e) {
    return e.message;
  }
  return "";
}

// Runs a task scenario for one layer and returns task_accuracy of the final state.
double task_accuracy(const std::string& model_keys, Index n, Index d,
                     const std::vector<std::string>& sets = {}) {
  const Scenario sc = test::scenario(R"(
[run]
seed = 5
frames = 2
[tokens]
n = )" + std::to_string(n) + "\nd = " + std::to_string(d) + R"(
[model]
kind = "poly_attention"
)" + model_keys + R"(
[integrator]
kind = "euler"
dt = 1.0
layers = 1
[observe]
quantities = ["task_accuracy"]
)", sets);
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  return sim.model().observable("task_accuracy", 1.0, sim.state().view());
}

}  // namespace

TEST_CASE("poly: attention polynomials are parsed and validated") {
  const Polynomial p = parse_polynomial(" x1*x2 +x2 * x3 ");
  CHECK(p.t == 3);
  CHECK(p.size() == 2);
  CHECK(p.degree() == 2);
  CHECK(p.is_forest());
  CHECK(!p.is_cycle());
  CHECK(p.str() == "x1*x2 + x2*x3");
  CHECK(parse_polynomial("x1*x2 + x2*x3 + x3*x1").is_cycle());
  CHECK(!parse_polynomial("x1*x2 + x2*x3 + x3*x1").is_forest());
  CHECK(parse_polynomial("x1*x2*x3").is_tensor());
  CHECK(parse_polynomial("1*x1*x2").size() == 1);
  CHECK(parse_polynomial("x1*x2 + x3*x4").is_forest());
  CHECK(!parse_polynomial("x1*x2 + x2*x3 + x3*x1 + x4*x5 + x5*x6 + x6*x4").is_cycle());
  CHECK(parse_error("x1*x1").find("multilinear") != std::string::npos);
  CHECK(parse_error("x1^2*x2").find("multilinear") != std::string::npos);
  CHECK(parse_error("x1 + x1*x2").find("degree") != std::string::npos);
  CHECK(parse_error("2*x1*x2").find("0/1") != std::string::npos);
  CHECK(parse_error("x1*x2 + x2*x1").find("repeated") != std::string::npos);
  CHECK(parse_error("x1*x2 - x2*x3").find("negative") != std::string::npos);
  CHECK(parse_error("x0*x1").find("numbered from 1") != std::string::npos);
  CHECK(parse_error("").find("empty") != std::string::npos);
  CHECK(parse_error("x1*y2").find("variable") != std::string::npos);
}

TEST_CASE("poly: a bad h is a located configuration error") {
  auto load = [](const std::string& h, const std::string& extra = "") {
    return test::scenario("[tokens]\nn = 8\nd = 3\n[model]\nkind = \"poly_attention\"\nh = \"" + h +
                          "\"\n" + extra + "[integrator]\nt_end = 1.0\n");
  };
  CHECK_THROWS_WITH_AS(load("x1*x1*x2"), doctest::Contains("test.toml:6:"), ConfigError);
  CHECK_THROWS_WITH_AS(load("x1*x1*x2"), doctest::Contains("multilinear"), ConfigError);
  CHECK_THROWS_WITH_AS(load("x1*x2*x3", "algorithm = \"tree\"\n"),
                       doctest::Contains("degree 3"), ConfigError);
  CHECK_THROWS_WITH_AS(load("x1*x2 + x2*x3", "algorithm = \"strassen\"\n"),
                       doctest::Contains("cycle"), ConfigError);
  CHECK_NOTHROW(load("x1*x2 + x2*x3 + x3*x1", "algorithm = \"strassen\"\n"));
}

TEST_CASE("poly: tree-attention equals the naive enumeration to 1e-12") {
  Rng rng(11);
  const char* hs[] = {"x1*x2", "x1*x2 + x2*x3", "x1*x2 + x1*x3", "x1*x2 + x2*x3 + x3*x4",
                      "x1*x2 + x3*x4", "x1*x2 + x1*x4", "x2*x3 + x3*x4",
                      "x1*x2 + x2*x3 + x2*x4 + x4*x5"};
  for (const char* text : hs) {
    const Polynomial h = parse_polynomial(text);
    for (Index n : {1, 7, 33, 64}) {
      const Index nn = h.t <= 3 ? n : std::min<Index>(n, h.t == 4 ? 32 : 14);
      for (auto [dk_, dv_] : {std::pair<Index, Index>{3, 3}, {5, 2}}) {
        const Index dk = dk_, dv = dv_;  // structured bindings cannot be captured (clang 14)
        CAPTURE(text); CAPTURE(nn); CAPTURE(dk); CAPTURE(dv);
        const PolyInput in = random_input(h, nn, dk, dv, rng);
        RowMat ref, out;
        Vec lref, lout;
        poly_naive(h, in, ref, &lref);
        poly_tree(h, in, out, &lout);
        CHECK(rel_err(out, ref) < 1e-12);
        CHECK((lout - lref).cwiseAbs().maxCoeff() < 1e-11);
      }
    }
  }
}

TEST_CASE("poly: Strassen / cycle attention equals the naive enumeration to 1e-12") {
  Rng rng(12);
  const char* hs[] = {"x1*x2 + x2*x3 + x3*x1", "x1*x3 + x3*x2 + x2*x1",
                      "x1*x2 + x2*x3 + x3*x4 + x4*x1", "x1*x3 + x3*x2 + x2*x4 + x4*x1"};
  for (const char* text : hs) {
    const Polynomial h = parse_polynomial(text);
    for (Index n : {1, 7, 33, 64}) {
      const Index nn = h.t <= 3 ? n : std::min<Index>(n, 32);
      for (auto [dk_, dv_] : {std::pair<Index, Index>{3, 3}, {5, 2}}) {
        const Index dk = dk_, dv = dv_;  // structured bindings cannot be captured (clang 14)
        CAPTURE(text); CAPTURE(nn); CAPTURE(dk);
        const PolyInput in = random_input(h, nn, dk, dv, rng);
        RowMat ref, out;
        Vec lref, lout;
        poly_naive(h, in, ref, &lref);
        poly_cycle(h, in, out, &lout);
        CHECK(rel_err(out, ref) < 1e-12);
        CHECK((lout - lref).cwiseAbs().maxCoeff() < 1e-11);
      }
    }
  }
}

TEST_CASE("poly: Strassen rows whose shifted product underflows stay exact (naive fallback)") {
  Rng rng(13);
  const Polynomial h = cycle_polynomial(3);
  PolyInput in = random_input(h, 40, 3, 3, rng, 30.0);  // scores of order +-5000
  RowMat ref, out;
  Vec lref;
  poly_naive(h, in, ref, &lref);
  poly_cycle(h, in, out);
  // The inputs really exercise the fallback: some row's shifted denominator
  // exp(log Z - row max - column max - global max) is below 1e-250.
  const RowMat s01 = in.q[0] * in.q[1].transpose(), s12 = in.q[1] * in.q[2].transpose(),
               s20 = in.q[2] * in.q[0].transpose();
  int underflowing = 0;
  for (Index i = 0; i < 40; ++i) {
    const double shift = s01.row(i).maxCoeff() + s20.col(i).maxCoeff() + s12.maxCoeff();
    underflowing += lref[i] - shift < std::log(1e-250);
  }
  CHECK(underflowing > 0);
  REQUIRE(out.allFinite());
  CHECK(rel_err(out, ref) < 1e-12);
}

TEST_CASE("poly: the polynomial method converges with the degree for bounded entries") {
  Rng rng(14);
  for (const char* text : {"x1*x2 + x2*x3 + x3*x1", "x1*x2*x3", "x1*x2 + x2*x3"}) {
    CAPTURE(text);
    const Polynomial h = parse_polynomial(text);
    PolyInput in = random_input(h, 40, 2, 2, rng, 0.0);
    for (auto& q : in.q) q = RowMat::Random(40, 2) * 0.7;  // entries in [-0.7, 0.7]
    RowMat ref, a2, a6;
    poly_naive(h, in, ref);
    poly_polynomial(h, in, 2, a2);
    poly_polynomial(h, in, 6, a6);
    const double e2 = (a2 - ref).cwiseAbs().maxCoeff(), e6 = (a6 - ref).cwiseAbs().maxCoeff();
    CHECK(e6 < 1e-5);
    CHECK(e6 < e2 / 50);
  }
}

TEST_CASE("poly: results are identical for 1 and 2 threads") {
  Rng rng(15);
  for (const char* text : {"x1*x2 + x2*x3", "x1*x2 + x2*x3 + x3*x1", "x1*x2*x3"}) {
    CAPTURE(text);
    const Polynomial h = parse_polynomial(text);
    const PolyInput in = random_input(h, 150, 4, 4, rng);
    const int saved = omp_get_max_threads();
    RowMat o1, o2;
    omp_set_num_threads(1);
    poly_attention(h, PolyAlgorithm::Auto, in, o1);
    omp_set_num_threads(2);
    poly_attention(h, PolyAlgorithm::Auto, in, o2);
    omp_set_num_threads(saved);
    CHECK(o1 == o2);
  }
}

TEST_CASE("poly: the 3-body USA flow is N times the gradient of the energy (note 7)") {
  const Scenario sc = test::scenario(R"(
[run]
seed = 3
[tokens]
n = 9
d = 3
init = "gaussian"
[model]
kind = "poly_attention"
h = "x1*x2*x3"
normalization = "mean"
beta = 0.7
[integrator]
t_end = 1.0
[observe]
quantities = ["energy"]
)");
  Simulation sim(sc);
  State s = sim.state();
  for (Index k = 0; k < s.u.size(); ++k) s.u[k] *= 0.8;
  State ds(s.shape);
  Flow& m = sim.flow();
  m.rhs(0, s.view(), ds.view());
  const double eps = 1e-6;
  double worst = 0;
  for (Index k = 0; k < s.u.size(); ++k) {
    State a = s, b = s;
    a.u[k] += eps;
    b.u[k] -= eps;
    const double g = (m.observable("energy", 0, a.view()) - m.observable("energy", 0, b.view())) / (2 * eps);
    worst = std::max(worst, std::abs(9 * g - ds.u[k]));
  }
  CHECK(worst < 1e-6);
}

TEST_CASE("poly tasks: the constructions solve every instance and a weakened Lambda fails") {
  struct Case {
    std::string keys;
    Index n, d;
  };
  const Case cases[] = {
      {"task = \"function_composition\"\nr = 1\ninstances = 20\n", 20 * 7, 8},
      {"task = \"function_composition\"\nr = 2\ninstances = 20\n", 20 * 11, 9},
      {"task = \"function_composition\"\nr = 3\ninstances = 20\n", 20 * 13, 10},
      {"task = \"function_composition\"\nr = 4\ninstances = 20\n", 20 * 13, 11},
      {"task = \"function_composition\"\nr = 2\nmechanism = \"strassen\"\ninstances = 20\n", 20 * 11, 9},
      {"task = \"function_composition\"\nr = 2\nmechanism = \"tensor\"\ninstances = 20\n", 20 * 11, 9},
      {"task = \"match3\"\nmechanism = \"tensor\"\ninstances = 20\n", 20 * 6, 5},
      {"task = \"match3\"\nmechanism = \"strassen\"\nlength = 8\ninstances = 20\n", 20 * 8, 4},
  };
  for (const auto& c : cases) {
    CAPTURE(c.keys);
    CHECK(task_accuracy(c.keys, c.n, c.d) == 1.0);
    CHECK(task_accuracy(c.keys + "lambda = 0.3\n", c.n, c.d) < 1.0);
  }
  // The tree construction also holds under the naive enumeration (same read-outs).
  CHECK(task_accuracy("task = \"function_composition\"\nr = 2\nalgorithm = \"naive\"\n", 220, 9) == 1.0);
}

TEST_CASE("poly tasks: wrong token counts are a clear configuration error") {
  CHECK_THROWS_WITH_AS(task_accuracy("task = \"function_composition\"\nr = 3\n", 64, 3),
                       doctest::Contains("needs tokens.n = 260 and tokens.d = 10"), ConfigError);
  CHECK_THROWS_WITH_AS(
      task_accuracy("task = \"function_composition\"\nr = 3\nmechanism = \"strassen\"\n", 260, 10),
      doctest::Contains("tree-attention"), ConfigError);
}

TEST_CASE("poly model: the forced naive algorithm gives the same flow and layers as auto") {
  auto build = [](const std::string& h, const std::string& algo, const std::string& extra) {
    return test::scenario(R"(
[run]
seed = 9
frames = 2
[tokens]
n = 40
d = 3
space = "sphere"
init = "uniform_sphere"
[model]
kind = "poly_attention"
h = ")" + h + "\"\nalgorithm = \"" + algo + "\"\nQ = \"random\"\nV = \"random\"\nbeta = 1.5\n" +
                          extra + "[integrator]\nkind = \"euler\"\ndt = 0.5\n" +
                          (extra.find("layers") != std::string::npos ? "layers = 2\n" : "t_end = 1.0\n"));
  };
  for (const char* h : {"x1*x2 + x2*x3", "x1*x2 + x2*x3 + x3*x1", "x1*x2 + x1*x3 + x3*x4"}) {
    for (const char* extra : {"", "normalization = \"mean\"\n", "mode = \"layers\"\n"}) {
      CAPTURE(h); CAPTURE(extra);
      const State fast = test::run_final(build(h, "auto", extra));
      const State ref = test::run_final(build(h, "naive", extra));
      CHECK((fast.u - ref.u).cwiseAbs().maxCoeff() < 1e-12);
      // On the sphere the field is tangent: tokens stay (numerically) unit after retraction.
      CHECK(std::abs(fast.x().row(0).norm() - 1) < 1e-12);
    }
  }
}

TEST_CASE("poly model: oracle calls count attention passes (one per tree edge)") {
  auto calls = [](const std::string& h) {
    const Scenario sc = test::scenario("[tokens]\nn = 16\nd = 2\n[model]\nkind = \"poly_attention\"\nh = \"" +
                                       h + "\"\nmode = \"layers\"\n[integrator]\nkind = \"euler\"\ndt = 0.1\nlayers = 3\n");
    Simulation sim(sc);
    RunOptions opt;
    sim.run(opt);
    return sim.model().counters.oracle_calls;
  };
  CHECK(calls("x1*x2 + x2*x3 + x2*x4") == 9);
  CHECK(calls("x1*x2 + x2*x3 + x3*x1") == 3);
  CHECK(calls("x1*x2*x3") == 3);
}
