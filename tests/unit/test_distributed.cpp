// The serial side of distributed runs (docs/mpi.md): how tokens are split over ranks, and what
// validation refuses under attnflow-mpi. The ranks themselves are tested under mpirun
// (tests/mpi: the distributed conformance suite and the CLI tests).
#include <doctest/doctest.h>

#include <string>

#include "sim/config/scenario.hpp"
#include "sim/core/comm.hpp"
#include "sim/core/error.hpp"

using namespace attnflow;

TEST_CASE("row blocks tile the tokens in order, N / P each and the first N mod P ranks one more") {
  for (Index n : {0, 1, 5, 7, 64, 1001}) {
    for (int p = 1; p <= 9; ++p) {
      Index next = 0;
      for (int r = 0; r < p; ++r) {
        const RowBlock b = row_block(n, r, p);
        CHECK(b.total == n);
        CHECK(b.offset == next);
        CHECK(b.count == n / p + (r < n % p ? 1 : 0));
        next += b.count;
      }
      CHECK(next == n);
    }
  }
}

namespace {
std::string scenario(const std::string& model, const std::string& integrator = "rk4") {
  return "[run]\nname = \"d\"\n[tokens]\nn = 8\nd = 3\nspace = \"sphere\"\n[model]\n" + model +
         "\n[integrator]\nkind = \"" + integrator + "\"\ndt = 0.1\nt_end = 1.0\n";
}
std::string refusal(const std::string& text) {
  LoadOptions lo;
  lo.distributed = true;
  try {
    (void)load_scenario_text(text, "d.toml", {}, lo);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("under MPI validation refuses what has no distributed path, naming the key's place") {
  CHECK(refusal(scenario("kind = \"attention\"")).empty());
  CHECK(refusal(scenario("kind = \"linear_attention\"")).empty());
  const std::string fourier = refusal(
      "[run]\nname = \"d\"\n[tokens]\nn = 8\nd = 2\nspace = \"sphere\"\n[model]\nkind = \"attention\"\n"
      "evaluator = \"fourier\"\n[integrator]\nkind = \"rk4\"\ndt = 0.1\nt_end = 1.0\n");
  CHECK(fourier.find("d.toml:8:8: model.kind = \"attention\" with evaluator = \"fourier\" has no "
                     "distributed path") != std::string::npos);
  const std::string adaptive = refusal(scenario("kind = \"attention\"", "dopri5"));
  CHECK(adaptive.find("d.toml:10:8: integrator.kind = \"dopri5\" is adaptive") != std::string::npos);
  // Serial loading of the same scenarios is unaffected.
  CHECK_NOTHROW(load_scenario_text(scenario("kind = \"attention\"", "dopri5"), "d.toml"));
}
