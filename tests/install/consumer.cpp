// A program outside the source tree that uses the installed library: the public headers must
// compile without toml++ and HDF5 headers, and the shared library must run a scenario (given as
// text) and evaluate a model built from a plain parameter struct.
#include <cmath>
#include <cstdio>

#include "sim/config/scenario.hpp"
#include "sim/models/attention.hpp"
#include "sim/run/simulation.hpp"

int main() {
  using namespace attnflow;
  const Scenario sc = load_scenario_text(
      "[tokens]\nn = 16\nd = 3\nspace = \"sphere\"\n[model]\nkind = \"attention\"\n"
      "[integrator]\nt_end = 1.0\n[observe]\nquantities = [\"energy\"]\n",
      "consumer.toml");
  Simulation sim(sc);
  const RunSummary s = sim.run();
  AttentionParams p;
  p.Q = p.K = p.V = RowMat::Identity(3, 3);
  AttentionModel m(Shape{16, 3, false}, Space::Sphere, p);
  State ds(sim.state().shape);
  m.rhs(0, sim.state().view(), ds.view());
  const bool ok = s.steps == 10 && ds.u.allFinite() && sim.series().values.at("energy").size() == 11;
  std::printf("steps %lld, |dx| = %g: %s\n", static_cast<long long>(s.steps), ds.u.norm(),
              ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
