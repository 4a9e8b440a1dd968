// Ensembles and parameter sweeps from Python (scenarios with [ensemble] / [[sweep]];
// sim/run/ensemble.hpp): run_ensemble keeps every grid point in memory (and writes the sweep file
// when asked), read_sweep reads a sweep file written by `attnflow run`. Both return the same
// dict of arrays, indexed [grid point][frame][system], that attnflow.EnsembleResult wraps
// (python/attnflow/ensemble.py).
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "common.hpp"
#include "sim/config/scenario.hpp"
#include "sim/core/error.hpp"
#include "sim/io/sweep_file.hpp"
#include "sim/run/ensemble.hpp"

#pragma GCC visibility push(hidden)

namespace attnflow::python {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
py::array_t<T> array_of(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> a(std::move(shape));
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), sizeof(T) * v.size());
  return a;
}

// Collects the grid points in the layout of a sweep file (sim/io/sweep_file.hpp): statistics
// [G][F][S] with their aggregates computed exactly as the file writer computes them, so the
// arrays equal the file's bit for bit. Forwards each point to the sweep file writer (if any)
// first, and draws the progress bar (with the GIL) when asked.
class Collector : public EnsembleSink {
 public:
  Collector(const Scenario& sc, SweepWriter* file, bool progress)
      : file_(file), progress_(progress), G_(static_cast<std::int64_t>(sc.grid.size())),
        F_(static_cast<std::int64_t>(sc.grid.front()->frame_times().size())),
        S_(sc.ensemble.size), K_(sc.ensemble.trajectories), Q_(static_cast<std::int64_t>(sc.ensemble.quantiles.size())),
        block_(sc.tokens.n * sc.tokens.d), qs_(sc.ensemble.quantiles) {
    const auto G = static_cast<std::size_t>(G_), F = static_cast<std::size_t>(F_),
               S = static_cast<std::size_t>(S_), Q = static_cast<std::size_t>(Q_);
    data.times.assign(G, std::vector<double>(F, kNaN));
    data.done.assign(G, 0);
    for (std::size_t q = 0; q < sc.ensemble.statistics.size(); ++q) {
      data.values.emplace_back(G * F * S, kNaN);
      data.mean.emplace_back(G * F, kNaN);
      data.stderr_.emplace_back(G * F, kNaN);
      data.quantiles.emplace_back(G * F * Q, kNaN);
    }
    if (K_) trajectories.assign(G * static_cast<std::size_t>(K_) * F * static_cast<std::size_t>(block_), kNaN);
    if (progress_) stderr_ = py::module_::import("sys").attr("stderr");
  }
  ~Collector() override {
    py::gil_scoped_acquire gil;
    stderr_ = py::object();
  }

  void write_point(const EnsemblePoint& p) override {
    if (file_) file_->write_point(p);
    const auto g = static_cast<std::size_t>(p.point), F = static_cast<std::size_t>(F_),
               S = static_cast<std::size_t>(S_), Q = static_cast<std::size_t>(Q_);
    data.times[g] = p.times;
    for (std::size_t q = 0; q < p.values.size(); ++q) {
      const std::vector<double>& v = p.values[q];
      std::copy(v.begin(), v.end(), data.values[q].begin() + static_cast<std::ptrdiff_t>(g * F * S));
      for (std::size_t k = 0; k < F; ++k) {
        const Aggregate a = aggregate(v.data() + k * S, S_, qs_);
        data.mean[q][g * F + k] = a.mean;
        data.stderr_[q][g * F + k] = a.stderr_;
        for (std::size_t j = 0; j < Q && j < a.quantiles.size(); ++j)
          data.quantiles[q][(g * F + k) * Q + j] = a.quantiles[j];
      }
    }
    const std::size_t per = F * static_cast<std::size_t>(block_);
    for (std::size_t i = 0; i < p.trajectories.size(); ++i)
      std::memcpy(trajectories.data() + (g * static_cast<std::size_t>(K_) + i) * per,
                  p.trajectories[i].data(), sizeof(double) * per);
    data.done[g] = 1;
    ++points_;
    if (progress_) {
      py::gil_scoped_acquire gil;
      std::ostringstream os;
      const int width = 40, fill = static_cast<int>(width * points_ / std::max<std::int64_t>(G_, 1));
      os << "\r[" << std::string(fill, '#') << std::string(width - fill, ' ') << "] grid point "
         << points_ << " / " << G_;
      stderr_.attr("write")(os.str());
      stderr_.attr("flush")();
    }
  }
  void finish_progress() {
    if (progress_ && points_ > 0) {
      stderr_.attr("write")("\n");
      stderr_.attr("flush")();
    }
  }

  SweepData data;                    // the layout read_sweep returns (values always present)
  std::vector<double> trajectories;  // [G][K][F][N d]

 private:
  SweepWriter* file_;
  bool progress_;
  std::int64_t G_, F_, S_, K_, Q_;
  Index block_;
  std::vector<double> qs_;
  py::object stderr_;
  std::int64_t points_ = 0;
};

// The fields of a sweep that come from the scenario itself.
void describe(const Scenario& sc, SweepData& d) {
  for (const auto& a : sc.sweep) {
    d.keys.push_back(a.key);
    d.log.push_back(a.log ? 1 : 0);
    d.axes.push_back(a.values);
  }
  d.grid = sc.grid_values;
  d.size = sc.ensemble.size;
  d.trajectories = sc.ensemble.trajectories;
  d.delta = sc.ensemble.delta;
  d.quantile_levels = sc.ensemble.quantiles;
  for (std::int64_t i = 0; i < sc.ensemble.size; ++i) d.seeds.push_back(system_seed(sc.run.seed, i));
  d.statistics = sc.ensemble.statistics;
  d.scenario_text = sc.resolved_toml;
  d.scenario_path = sc.path;
}

// A SweepData (from memory or a file) as the dict EnsembleResult takes.
py::dict to_dict(const SweepData& d, bool values) {
  const auto G = static_cast<py::ssize_t>(d.grid.empty() ? d.times.size() : d.grid.size());
  const auto A = static_cast<py::ssize_t>(d.keys.size());
  const auto F = static_cast<py::ssize_t>(d.frames()), S = static_cast<py::ssize_t>(d.size);
  const auto Q = static_cast<py::ssize_t>(d.quantile_levels.size());
  py::dict r;
  r["keys"] = d.keys;
  py::list log, axes;
  for (py::ssize_t k = 0; k < A; ++k) {
    log.append(d.log[static_cast<std::size_t>(k)] != 0);
    axes.append(array_of(d.axes[static_cast<std::size_t>(k)],
                         {static_cast<py::ssize_t>(d.axes[static_cast<std::size_t>(k)].size())}));
  }
  r["log"] = log;
  r["axes"] = axes;
  std::vector<double> grid;
  for (const auto& row : d.grid) grid.insert(grid.end(), row.begin(), row.end());
  r["grid"] = array_of(grid, {G, A});
  py::array_t<bool> done({G});
  for (py::ssize_t g = 0; g < G; ++g)
    done.mutable_data()[g] = static_cast<std::size_t>(g) < d.done.size() && d.done[static_cast<std::size_t>(g)] != 0;
  r["done"] = done;
  r["size"] = d.size;
  r["trajectories"] = d.trajectories;
  r["delta"] = d.delta;
  r["quantile_levels"] = array_of(d.quantile_levels, {Q});
  r["seeds"] = array_of(d.seeds, {static_cast<py::ssize_t>(d.seeds.size())});
  r["statistics"] = d.statistics;
  std::vector<double> times;
  for (const auto& row : d.times) times.insert(times.end(), row.begin(), row.end());
  r["times"] = array_of(times, {G, F});
  py::dict stats;
  for (std::size_t q = 0; q < d.statistics.size(); ++q) {
    py::dict s;
    s["mean"] = array_of(d.mean[q], {G, F});
    s["stderr"] = array_of(d.stderr_[q], {G, F});
    // The file pads a quantile axis of length 0 to 1 (NaN); keep what the levels say.
    const py::ssize_t Qs = Q ? Q : static_cast<py::ssize_t>(d.quantiles[q].size() / std::max<std::size_t>(1, static_cast<std::size_t>(G * F)));
    s["quantiles"] = array_of(d.quantiles[q], {G, F, Qs});
    s["values"] = values ? py::object(array_of(d.values[q], {G, F, S})) : py::object(py::none());
    stats[py::str(d.statistics[q])] = s;
  }
  r["stats"] = stats;
  r["scenario"] = d.scenario_text;
  r["scenario_path"] = d.scenario_path;
  return r;
}

void check_memory(const Scenario& sc) {
  const double G = static_cast<double>(sc.grid.size());
  const double F = static_cast<double>(sc.grid.front()->frame_times().size());
  const double S = static_cast<double>(sc.ensemble.size);
  const double q = static_cast<double>(sc.ensemble.statistics.size());
  const double bytes = 8.0 * G * F * (q * (S + 2 + static_cast<double>(sc.ensemble.quantiles.size())) +
                                      static_cast<double>(sc.ensemble.trajectories) *
                                          static_cast<double>(sc.tokens.n * sc.tokens.d));
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return;
  const double mem = static_cast<double>(pages) * static_cast<double>(page);
  if (bytes > 0.5 * mem) {
    std::ostringstream os;
    os.precision(3);
    os << sc.path << ": keeping the ensemble's statistics in memory needs " << bytes / 1e9
       << " GB, more than half of this machine's " << mem / 1e9
       << " GB: fewer frames, systems, statistics or trajectories";
    throw ConfigError(os.str());
  }
}

py::dict run_ensemble_py(std::shared_ptr<Scenario> sc, std::optional<std::string> output, bool progress,
                         bool overwrite) {
  if (!sc->is_ensemble())
    throw py::value_error("run_ensemble: scenario '" + sc->run.name +
                          "' has no [ensemble] table (use attnflow.run for a single system)");
  check_memory(*sc);
  std::unique_ptr<SweepWriter> file;
  if (output) {
    py::gil_scoped_release nogil;
    file = std::make_unique<SweepWriter>(*output, *sc, SweepWriter::Mode::Create,
                                         overwrite ? ExistingOutput::Overwrite : ExistingOutput::Backup);
  }
  Collector col(*sc, file.get(), progress);
  describe(*sc, col.data);
  EnsembleSummary sum;
  std::string backup, written;
  {
    SigintGuard guard;
    py::gil_scoped_release nogil;
    try {
      sum = run_ensemble(*sc, col);
    } catch (...) {
      if (file) file->close();
      throw;
    }
    if (file) {
      const auto done = file->done();
      bool complete = true;
      for (char c : done) complete = complete && c != 0;
      file->write_summary(sum, complete);
      backup = file->backup();
      if (sum.points_done > 0) written = *output;  // else nothing was committed (no file)
      file->close();
    }
  }
  col.finish_progress();
  int sig = take_pending_signal();
  if (sum.signal) sig = sum.signal;
  py::dict r = to_dict(col.data, true);
  const Index n = sc->tokens.n, d = sc->tokens.d;
  r["trajectory_positions"] =
      sc->ensemble.trajectories
          ? py::object(array_of(col.trajectories,
                                {static_cast<py::ssize_t>(sc->grid.size()),
                                 static_cast<py::ssize_t>(sc->ensemble.trajectories),
                                 static_cast<py::ssize_t>(col.data.frames()), static_cast<py::ssize_t>(n),
                                 static_cast<py::ssize_t>(d)}))
          : py::object(py::none());
  py::dict s;
  s["points_done"] = sum.points_done;
  s["systems"] = sum.systems;
  s["steps"] = sum.steps;
  s["rhs_evals"] = sum.rhs_evals;
  s["wall_seconds"] = sum.wall_seconds;
  s["signal"] = sig;
  s["line"] = sum.line();
  s["output"] = written.empty() ? py::object(py::none()) : py::object(py::str(written));
  s["backup"] = backup.empty() ? py::object(py::none()) : py::object(py::str(backup));
  r["summary"] = s;
  return r;
}

py::dict read_sweep_py(const std::string& path, bool values) {
  SweepData d;
  {
    py::gil_scoped_release nogil;
    d = read_sweep(path, values);
  }
  py::dict r = to_dict(d, values);
  r["trajectory_positions"] = py::none();  // read lazily from the file (h5py)
  return r;
}

}  // namespace

void bind_ensemble(py::module_& m, py::class_<Scenario, std::shared_ptr<Scenario>>& scenario) {
  scenario
      .def_property_readonly("is_ensemble", [](const Scenario& s) { return s.is_ensemble(); },
                             "True for a scenario with [ensemble] (and [[sweep]] tables).")
      .def_property_readonly("ensemble", [](const Scenario& s) -> py::object {
        if (!s.ensemble.active()) return py::none();
        py::dict e;
        e["size"] = s.ensemble.size;
        e["matrices"] = s.ensemble.shared_matrices ? "shared" : "per_system";
        e["trajectories"] = s.ensemble.trajectories;
        e["statistics"] = s.ensemble.statistics;
        e["delta"] = s.ensemble.delta;
        e["quantiles"] = s.ensemble.quantiles;
        return e;
      }, "The [ensemble] table as a dict (size, matrices, trajectories, statistics, delta, "
         "quantiles), or None.")
      .def_property_readonly("sweep", [](const Scenario& s) {
        py::list l;
        for (const auto& a : s.sweep) {
          py::dict ax;
          ax["key"] = a.key;
          ax["values"] = array_of(a.values, {static_cast<py::ssize_t>(a.values.size())});
          ax["log"] = a.log;
          ax["integer"] = a.integer;
          l.append(ax);
        }
        return l;
      }, "The [[sweep]] axes: a list of dicts (key, values, log, integer), first axis slowest.")
      .def_property_readonly("grid", [](const Scenario& s) {
        std::vector<double> g;
        for (const auto& row : s.grid_values) g.insert(g.end(), row.begin(), row.end());
        return array_of(g, {static_cast<py::ssize_t>(s.grid_values.size()),
                            static_cast<py::ssize_t>(s.sweep.size())});
      }, "The grid points of an ensemble (G, A): the swept keys' values of every point.");

  m.def("run_ensemble", &run_ensemble_py, py::arg("scenario"), py::arg("output"),
        py::arg("progress"), py::arg("overwrite") = false);
  m.def("read_sweep", &read_sweep_py, py::arg("path"), py::arg("values") = true);
}

}  // namespace attnflow::python

#pragma GCC visibility pop
