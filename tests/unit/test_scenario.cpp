#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "sim/run/init.hpp"
#include "helpers.hpp"

using namespace attnflow;

namespace {

const char* kBase = R"([run]
seed = 3
[tokens]
n = 8
d = 3
[model]
kind = "attention"
[integrator]
kind = "rk4"
dt = 0.1
t_end = 1.0
)";

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    test::scenario(text, sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a semantic error names file, line and column of the offending value") {
  std::string text = kBase;
  text.replace(text.find("dt = 0.1"), 8, "dt = -0.1");
  CHECK(error_of(text) == "test.toml:10:6: integrator.dt must be > 0 (got -0.1)");
}

TEST_CASE("an unknown key is rejected with a suggestion") {
  std::string text = kBase;
  text.replace(text.find("t_end"), 5, "t_ned");
  const std::string e = error_of(text);
  CHECK(e.find("test.toml:11:1: unknown key 't_ned' in [integrator]; did you mean 't_end'?") == 0);
}

TEST_CASE("a misspelt choice is rejected with a suggestion") {
  const std::string e = error_of(kBase, {"model.kind=atention"});
  CHECK(e.find("--set model.kind=atention: model.kind must be one of") == 0);
  CHECK(e.find("did you mean \"attention\"?") != std::string::npos);
}

TEST_CASE("--set overrides any key and the resolved scenario records it") {
  const Scenario sc = test::scenario(kBase, {"integrator.dt=0.05", "model.beta=2.5", "run.name=x"});
  CHECK(sc.integrator.dt == 0.05);
  CHECK(sc.run.name == "x");
  CHECK(sc.resolved_toml.find("beta = 2.5") != std::string::npos);
  // Defaults are filled in.
  CHECK(sc.resolved_toml.find("normalization = 'softmax'") != std::string::npos);
}

TEST_CASE("frames are evenly spaced from t0 to t_end, and fall on whole layers in layers mode") {
  const Scenario sc = test::scenario(kBase, {"run.frames=11"});
  const auto t = sc.frame_times();
  REQUIRE(t.size() == 11);
  CHECK(t.front() == 0.0);
  CHECK(t.back() == 1.0);
  CHECK(t[5] == doctest::Approx(0.5));
  const Scenario layers = test::scenario(R"([tokens]
n = 4
d = 2
[model]
kind = "attention"
[integrator]
kind = "euler"
dt = 1.0
layers = 6
[run]
frames = 4
)");
  CHECK(layers.frame_times() == std::vector<double>{0, 2, 4, 6});
}

TEST_CASE("a matrix whose size does not match d is rejected at its location") {
  const std::string e = error_of(std::string(kBase) + "", {"model.V=[[1.0, 0.0], [0.0, 1.0]]"});
  CHECK(e.find("--set model.V=[[1.0, 0.0], [0.0, 1.0]]: model.V must be a 3 x 3 matrix") == 0);
}

TEST_CASE("the same seed gives the same initial tokens and another seed different ones") {
  const Scenario a = test::scenario(kBase), b = test::scenario(kBase), c = test::scenario(kBase, {"run.seed=4"});
  CHECK(initial_state(a).u == initial_state(b).u);
  CHECK(initial_state(a).u != initial_state(c).u);
}

TEST_CASE("gaussian and elliptical_t initial clouds have the requested mean and covariance") {
  // Multivariate t with nu degrees of freedom: covariance nu/(nu - 2) * cov.
  const std::string text = R"([tokens]
n = 200000
d = 2
mean = [1.0, -2.0]
cov = [[2.0, 0.6], [0.6, 0.5]]
nu = 6.0
[model]
kind = "attention"
[integrator]
t_end = 1.0
)";
  for (const char* init : {"gaussian", "elliptical_t"}) {
    CAPTURE(init);
    const Scenario sc = test::scenario(text, {std::string("tokens.init=") + init});
    const State s = initial_state(sc);
    const auto x = s.x();
    const Eigen::RowVector2d mu = x.colwise().mean();
    const RowMat xc = x.rowwise() - mu;
    const RowMat cov = xc.transpose() * xc / double(x.rows());
    const double f = std::string(init) == "gaussian" ? 1.0 : 6.0 / 4.0;
    CHECK(mu[0] == doctest::Approx(1.0).epsilon(0.01));
    CHECK(mu[1] == doctest::Approx(-2.0).epsilon(0.01));
    CHECK(cov(0, 0) == doctest::Approx(2.0 * f).epsilon(0.03));
    CHECK(cov(0, 1) == doctest::Approx(0.6 * f).epsilon(0.05));
    CHECK(cov(1, 1) == doctest::Approx(0.5 * f).epsilon(0.03));
  }
}

TEST_CASE("orthogonal tokens are the first N standard basis vectors and need d >= N") {
  const Scenario sc = test::scenario(kBase, {"tokens.init=orthogonal", "tokens.d=10"});
  CHECK(initial_state(sc).x() == RowMat::Identity(8, 10));
  CHECK(error_of(kBase, {"tokens.init=orthogonal"}).find("needs d >= n") != std::string::npos);
}

TEST_CASE("uniform_sphere and hemisphere tokens lie on the sphere, hemisphere ones in the cap") {
  const Scenario sc = test::scenario(kBase, {"tokens.space=sphere", "tokens.init=hemisphere",
                                             "tokens.spread=0.5", "tokens.n=500"});
  const State s = initial_state(sc);
  CHECK((s.x().rowwise().norm().array() - 1).abs().maxCoeff() < 1e-15);
  CHECK(s.x().col(0).minCoeff() > std::cos(0.5));
}

TEST_CASE("regression (fuzz): a large integer where a float is expected is read as a number") {
  // toml++ refuses value<double>() for integers a double cannot hold exactly; this crashed with
  // std::bad_optional_access before (tests/fuzz/regressions/large_integer_as_float.toml).
  const Scenario sc = test::scenario(
      kBase, {"integrator.t_end=128472640247326626", "integrator.dt=128472640247326626"});
  CHECK(sc.integrator.t_end == doctest::Approx(1.2847264024732662e17));
}

TEST_CASE("every fuzz regression input loads or is rejected as invalid input") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(ATTNFLOW_SOURCE_DIR) / "tests/fuzz/regressions")) {
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    CAPTURE(e.path().string());
    try {
      test::scenario(ss.str(), {"run.output=/tmp/attnflow-fuzz-out/run.h5"});
    } catch (const ConfigError&) {
    }
    ++n;
  }
  CHECK(n >= 1);
}
