// attnflow analyze (analysis/analyze.hpp, analysis/compare.hpp, analysis/ellipticity.hpp;
// SympFormer arXiv 2603.16535, research/sympformer.md 6.4, 7.3): fitted rates written to
// /analysis/fits, hitting times, ellipticity residuals, exit codes.
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <doctest/doctest.h>

#include "analysis/analyze.hpp"
#include "analysis/compare.hpp"
#include "analysis/ellipticity.hpp"
#include "sim/core/rng.hpp"
#include "helpers.hpp"
#include "sim/io/run_file.hpp"

using namespace attnflow;

namespace {

std::string run_into_file(const std::string& text, const std::string& name) {
  const std::string path =
      (std::filesystem::temp_directory_path() / (name + std::to_string(getpid()) + ".h5")).string();
  const Scenario sc = test::scenario(text);
  Simulation sim(sc);
  run_to_file(sim, path);
  return path;
}

double read_attr(const std::string& file, const std::string& group, const char* name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, group.c_str(), H5P_DEFAULT);
  hid_t a = H5Aopen(g, name, H5P_DEFAULT);
  double v = NAN;
  H5Aread(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a); H5Gclose(g); H5Fclose(f);
  return v;
}

const char* kDecay = R"(
[run]
seed = 3
frames = 51
[tokens]
n = 20
d = 2
[model]
kind = "interaction_energy"
interaction = "none"
potential = "quadratic"
potential_matrix = "identity"
[integrator]
kind = "rk4"
dt = 0.01
t_end = 5.0
[observe]
quantities = ["energy"]
)";

}  // namespace

TEST_CASE("analyze fits the exponential rate of energy ~ e^{-2t} and writes /analysis/fits") {
  const std::string f = run_into_file(kDecay, "attnflow_analyze_decay");
  CHECK(analyze_main({f, "--observable", "energy", "--window", "1", "4", "--threshold", "1e-3",
                      "--write-fits"}) == 0);
  CHECK(read_attr(f, "/analysis/fits/energy", "rate") == doctest::Approx(2.0).epsilon(1e-6));
  CHECK(read_attr(f, "/analysis/fits/energy", "t0") == doctest::Approx(1.0));
  CHECK(read_attr(f, "/analysis/fits/energy", "t1") == doctest::Approx(4.0));
  std::filesystem::remove(f);
}

TEST_CASE("analyze exit codes: 2 for bad options or observables, 4 for unreadable files") {
  const std::string f = run_into_file(kDecay, "attnflow_analyze_codes");
  CHECK(analyze_main({f, "--bogus"}) == 2);
  CHECK(analyze_main({f, "--window", "3", "1"}) == 2);
  CHECK(analyze_main({f, "--observable", "nope"}) == 2);
  CHECK(analyze_main({}) == 2);
  CHECK(analyze_main({"/nonexistent/run.h5"}) == 4);
  CHECK(analyze_main({f, f, "--threshold", "0.01", "--ellipticity"}) == 0);
  std::filesystem::remove(f);
}

TEST_CASE("sustained hitting time ignores early dips, and the power-law fit recovers the exponent") {
  const std::vector<double> t{0, 1, 2, 3, 4, 5}, y{1, 0.05, 0.5, 0.08, 0.02, 0.01};
  CHECK(sustained_hitting_time(t, y, 0.1, true) == doctest::Approx(3.0));
  CHECK(std::isinf(sustained_hitting_time(t, y, 0.001, true)));
  std::vector<double> tt, yy;
  for (int k = 1; k <= 20; ++k) { tt.push_back(k); yy.push_back(3.0 * std::pow(k, -2.0)); }
  CHECK(fit_rate(tt, yy, -1, -1, true).rate == doctest::Approx(2.0).epsilon(1e-12));
}

TEST_CASE("ellipticity residuals: round-off for a linear image, O(1) for a nonlinear map") {
  Rng rng(8);
  RowMat x0(500, 3);
  for (Index i = 0; i < x0.rows(); ++i)
    for (Index j = 0; j < 3; ++j) x0(i, j) = rng.normal() + (j == 0 ? 1.0 : 0.0);
  const RowMat m{{1.0, 0.3, 0.0}, {0.2, 0.7, 0.1}, {0.0, 0.4, 1.5}};
  const RowMat x1 = x0 * m.transpose();
  CHECK(linear_image_residual(x0, x1) < 1e-14);
  CHECK(mahalanobis_residual(x0, x1) < 1e-13);
  const RowMat x2 = x0.array().tanh().matrix();
  CHECK(linear_image_residual(x0, x2) > 0.05);
  CHECK(mahalanobis_residual(x0, x2) > 0.05);
}
