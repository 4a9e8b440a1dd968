#include <omp.h>

#include <doctest/doctest.h>

#include "sim/kernels/fast_exp.hpp"
#include "sim/kernels/kernel_attention.hpp"
#include "sim/models/attention.hpp"
#include "sim/core/rng.hpp"
#include "helpers.hpp"

using namespace attnflow;
using test::attention_reference;

namespace {

RowMat random_matrix(Index r, Index c, Rng& rng, double scale = 1.0) {
  RowMat m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = scale * rng.normal();
  return m;
}

double rel_err(const RowMat& a, const RowMat& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff());
}

// The SA right-hand side (Euclidean, Q = K = V = I) of tokens x at inverse temperature beta:
// finite, and its relative error against the materialised softmax reference.
double identity_sa_error(const RowMat& x, double beta) {
  const Index n = x.rows(), d = x.cols();
  AttentionParams p;
  p.beta = beta;
  p.Q = p.K = p.V = RowMat::Identity(d, d);
  AttentionModel m({n, d, false}, Space::Euclidean, p);
  State s({n, d, false}), ds({n, d, false});
  s.x() = x;
  m.rhs(0, s.view(), ds.view());
  REQUIRE(ds.u.allFinite());
  return rel_err(ds.x(), attention_reference(x, p.Q, p.K, p.V, p.beta, true));
}

}  // namespace

TEST_CASE("the streamed attention RHS equals the materialised softmax reference to 1e-12") {
  Rng rng(42);
  for (Index n : {1, 2, 7, 255, 256, 257, 1000}) {
    for (Index d : {1, 3, 5, 16, 40}) {  // d <= 4: fused path; larger d: GEMM tiles
      for (bool softmax : {true, false}) {
        CAPTURE(n); CAPTURE(d); CAPTURE(softmax);
        AttentionParams p;
        p.norm = softmax ? Normalization::Softmax : Normalization::Mean;
        p.beta = 1.3;
        p.Q = random_matrix(d, d, rng, 1 / std::sqrt(double(d)));
        p.K = random_matrix(d, d, rng, 1 / std::sqrt(double(d)));
        p.V = random_matrix(d, d, rng);
        const RowMat x = random_matrix(n, d, rng);
        AttentionModel m({n, d, false}, Space::Euclidean, p);
        State s({n, d, false}), ds({n, d, false});
        s.x() = x;
        m.rhs(0, s.view(), ds.view());
        const RowMat ref = attention_reference(x, p.Q, p.K, p.V, p.beta, softmax);
        CHECK(rel_err(ds.x(), ref) < 1e-12);
      }
    }
  }
}

TEST_CASE("large scores do not overflow the online softmax") {
  Rng rng(1);
  // beta = 200: scores up to ~ +-2000, exp would overflow without the running max.
  CHECK(identity_sa_error(random_matrix(300, 3, rng), 200.0) < 1e-12);
}

TEST_CASE("the one-pass softmax rescales and redoes key blocks when later keys score far higher") {
  // Keys along one direction: short ones in the first key block (512 keys), then lengths growing
  // from 1 to 3. For the long rows the second block's scores exceed the first block's by ~1000
  // (exp would overflow: the block is redone), later blocks by tens (lazy rescale).
  Rng rng(5);
  const Index n = 2000, d = 3;
  RowMat x(n, d);
  for (Index j = 0; j < n; ++j) {
    const double len = j < 512 ? 0.01 * (1.0 + double(j) / 512) : 1.0 + 2.0 * double(j - 512) / double(n - 512);
    x.row(j) << len + 0.01 * rng.normal(), 0.01 * rng.normal(), 0.01 * rng.normal();
  }
  CHECK(identity_sa_error(x, 200.0) < 1e-12);
}

TEST_CASE("fast_exp_below is within 2 ulp of exp on [-708, 709]") {
  Rng rng(3);
  double worst = 0;
  for (int k = 0; k < 1000000; ++k) {
    const double x = -708.0 + 1417.0 * rng.uniform();
    const double e = std::exp(x);
    worst = std::max(worst, std::abs(fast_exp_below(x) - e) / e);
  }
  for (double x : {0.0, -1e-300, 1e-17, -0.5 * std::log(2.0), 0.5 * std::log(2.0), -708.0, 709.0})
    worst = std::max(worst, std::abs(fast_exp_below(x) - std::exp(x)) / std::exp(x));
  CAPTURE(worst);
  CHECK(worst <= 2 * 0x1p-52);
  CHECK(fast_exp_below(-1000.0) < 1e-307);  // clamped: e^-708, negligible next to a sum >= 1
}

TEST_CASE("the attention RHS is bit-identical for 1 and 2 threads") {
  // d = 20 runs the GEMM-tile path, d = 3 the fused small-d path over several key chunks.
  Rng rng(7);
  for (Index d : {20, 3}) {
    CAPTURE(d);
    const Index n = d == 20 ? 1500 : 9000;
    AttentionParams p;
    p.Q = random_matrix(d, d, rng); p.K = random_matrix(d, d, rng); p.V = random_matrix(d, d, rng);
    AttentionModel m({n, d, false}, Space::Sphere, p);
    State s({n, d, false}), d1({n, d, false}), d2({n, d, false});
    s.x() = random_matrix(n, d, rng);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    m.rhs(0, s.view(), d1.view());
    omp_set_num_threads(2);
    m.rhs(0, s.view(), d2.view());
    omp_set_num_threads(saved);
    CHECK(d1.u == d2.u);
  }
}

TEST_CASE("on the sphere the attention field is tangent to the sphere") {
  const Scenario sc = test::scenario(R"(
[tokens]
n = 50
d = 4
space = "sphere"
[model]
kind = "attention"
Q = "random"
K = "random"
V = "random"
[integrator]
t_end = 1.0
)");
  Simulation sim(sc);
  State ds(sim.state().shape);
  sim.flow().rhs(0, sim.state().view(), ds.view());
  const RowMat x = sim.state().x();
  for (Index i = 0; i < x.rows(); ++i) CHECK(std::abs(x.row(i).dot(ds.x().row(i))) < 1e-14);
}

TEST_CASE("the streamed energy equals the double sum 1/(2 beta N^2) sum_ij exp(beta <Qx_i, Kx_j>)") {
  Rng rng(3);
  const Index n = 400, d = 3;
  AttentionParams p;
  p.beta = 2.5;
  p.Q = random_matrix(d, d, rng, 0.5); p.K = random_matrix(d, d, rng, 0.5); p.V = RowMat::Identity(d, d);
  const RowMat x = random_matrix(n, d, rng);
  AttentionModel m({n, d, false}, Space::Euclidean, p);
  State s({n, d, false});
  s.x() = x;
  double ref = 0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) ref += std::exp(p.beta * (p.Q * x.row(i).transpose()).dot(p.K * x.row(j).transpose()));
  ref /= 2 * p.beta * n * n;
  CHECK(m.observable("energy", 0, s.view()) == doctest::Approx(ref).epsilon(1e-12));
}

TEST_CASE("one layers step of attention equals one transformer residual layer computed by hand") {
  const std::string base = R"(
[run]
seed = 9
[tokens]
n = 40
d = 6
init = "gaussian"
[model]
normalization = "softmax"
beta = 0.7
Q = "random"
K = "random"
V = "random"
[integrator]
kind = "euler"
dt = 0.3
layers = 1
)";
  const Scenario flow = test::scenario(base, {"model.kind=attention"});
  const Scenario block = test::scenario(base, {"model.kind=transformer"});
  Simulation sim(flow);
  const RowMat x0 = sim.state().x();
  auto& am = dynamic_cast<AttentionModel&>(sim.model());
  const auto& p = am.params();
  // By hand: X1 = X0 + h softmax(beta X0 Q^T K X0^T) X0 V^T.
  const RowMat by_hand = x0 + 0.3 * attention_reference(x0, p.Q, p.K, p.V, p.beta, true);
  const State layer_flow = test::run_final(flow);
  const State layer_block = test::run_final(block);
  CHECK(rel_err(layer_flow.x(), by_hand) < 1e-13);
  CHECK(rel_err(layer_block.x(), by_hand) < 1e-13);
}

TEST_CASE("a transformer layer with LayerNorm normalises the attention input") {
  const Scenario sc = test::scenario(R"(
[tokens]
n = 10
d = 4
[model]
kind = "transformer"
layernorm = true
[integrator]
kind = "euler"
dt = 1.0
layers = 1
)");
  Simulation sim(sc);
  const RowMat x0 = sim.state().x();
  RowMat z(x0.rows(), x0.cols());
  for (Index i = 0; i < x0.rows(); ++i) {
    const double mu = x0.row(i).mean();
    const double var = (x0.row(i).array() - mu).square().mean();
    z.row(i) = (x0.row(i).array() - mu) / std::sqrt(var + 1e-5);
  }
  const RowMat I = RowMat::Identity(4, 4);
  const RowMat expect = x0 + attention_reference(z, I, I, I, 1.0, true);
  CHECK(rel_err(test::run_final(sc).x(), expect) < 1e-13);
}
