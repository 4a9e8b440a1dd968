// attnflow._core: the compiled part of the Python package (python/attnflow/ is the thin pure-Python
// layer on top; docs/python.md is the reference).
//
//   load_file / load_text      -> Scenario (validated; ConfigError with file, line, column)
//   run(scenario, ...)         -> the frames of a run (in memory, or written to an H5MD file)
//   Simulator(scenario)        -> a stepping object with zero-copy read-only views of the state
//   attention_rhs, ...         -> models' right-hand sides on arrays (kernels.cpp)
//
// The GIL is released while C++ computes; SigintGuard (common.hpp) turns Ctrl-C (and Jupyter's
// "interrupt kernel", which sends SIGINT) into attnflow::Interrupted inside the loop and into
// KeyboardInterrupt in Python, with any output file closed and readable.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>

#include "common.hpp"
#include "sim/config/scenario.hpp"
#include "sim/core/error.hpp"
#include "sim/core/interrupt.hpp"
#include "sim/core/registry.hpp"
#include "sim/io/run_file.hpp"
#include "sim/run/observables.hpp"
#include "sim/run/simulation.hpp"

#pragma GCC visibility push(hidden)

namespace attnflow::python {
namespace {

using ScenarioPtr = std::shared_ptr<Scenario>;

// --- errors ------------------------------------------------------------------------------------

// attnflow.errors classes (kept for the life of the process: never destroyed at exit).
struct ErrorClasses {
  py::object base, config, numerical, output;
};
ErrorClasses* g_errors = nullptr;

void register_errors() {
  py::module_ errors = py::module_::import("attnflow.errors");
  g_errors = new ErrorClasses{errors.attr("Error"), errors.attr("ConfigError"),
                              errors.attr("NumericalError"), errors.attr("OutputError")};
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      PyErr_SetString(g_errors->config.ptr(), e.what());
    } catch (const NumericalError& e) {
      PyErr_SetString(g_errors->numerical.ptr(), e.what());
    } catch (const IoError& e) {
      PyErr_SetString(g_errors->output.ptr(), e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_errors->base.ptr(), e.what());
    } catch (const Interrupted& e) {
      take_pending_signal();
      PyErr_SetString(PyExc_KeyboardInterrupt, "interrupted");
    }
  });
}

// --- scenarios -----------------------------------------------------------------------------------

LoadOptions python_load_options() {
  LoadOptions lo;
  lo.claim_windows = false;  // Python runs evaluate no claims (like `attnflow run`)
  return lo;
}

ScenarioPtr load_file(const std::string& path, const std::vector<std::string>& sets) {
  Scenario sc;
  {
    py::gil_scoped_release nogil;
    sc = load_scenario(path, sets, python_load_options());
  }
  return std::make_shared<Scenario>(std::move(sc));
}

ScenarioPtr load_text(const std::string& text, const std::string& name,
                      const std::vector<std::string>& sets) {
  Scenario sc;
  {
    py::gil_scoped_release nogil;
    sc = load_scenario_text(text, name, sets, python_load_options());
  }
  return std::make_shared<Scenario>(std::move(sc));
}

ScenarioPtr replace(const Scenario& sc, const std::vector<std::string>& sets) {
  std::vector<std::string> all = sc.overrides;
  all.insert(all.end(), sets.begin(), sets.end());
  return load_text(sc.source_text, sc.path, all);
}

std::string scenario_repr(const Scenario& sc) {
  std::ostringstream os;
  os << "<attnflow.Scenario '" << sc.run.name << "': " << sc.model_kind << ", N = " << sc.tokens.n
     << ", d = " << sc.tokens.d << ", " << (sc.tokens.space == Space::Sphere ? "sphere" : "R^d")
     << ", " << sc.integrator.kind << " dt = " << sc.integrator.dt;
  if (sc.layers_mode())
    os << ", " << sc.integrator.layers << " layers";
  else
    os << ", t = " << sc.integrator.t0 << " .. " << sc.integrator.t_end;
  os << ", " << sc.frame_times().size() << " frames>";
  return os.str();
}

py::dict registry_models() {
  py::dict d;
  for (const auto& k : ModelRegistry::names()) d[py::str(k)] = ModelRegistry::find(k)->summary;
  return d;
}
py::dict registry_integrators() {
  py::dict d;
  for (const auto& k : IntegratorRegistry::names()) d[py::str(k)] = IntegratorRegistry::find(k)->summary;
  return d;
}

// A zero-copy view of n x d doubles at p, read-only, keeping `owner` alive.
py::array view(const double* p, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides,
               py::handle owner) {
  py::array a(py::dtype::of<double>(), std::move(shape), std::move(strides), p, owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

// A vector moved into a NumPy array (no copy): the array owns the vector.
template <class T>
py::array_t<T> adopt(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), heap->data(), owner);
}

// --- run() -------------------------------------------------------------------------------------

// The Python side of a run: keeps frames in memory (output = None), calls on_frame, draws the
// progress bar. Runs on the loop's thread without the GIL; takes it only for Python calls.
class Recorder : public FrameSink {
 public:
  Recorder(const Scenario& sc, bool keep, py::object callback, bool progress)
      : shape_(sc.shape()), keep_(keep), callback_(std::move(callback)), progress_(progress),
        names_(sc.observe.quantities), t0_(sc.integrator.t0), t1_(sc.integrator.t_end) {
    if (keep_) {
      const auto frames = static_cast<std::size_t>(sc.frame_times().size());
      x_.reserve(frames * static_cast<std::size_t>(shape_.block()));
      if (shape_.momentum) y_.reserve(frames * static_cast<std::size_t>(shape_.block()));
    }
    if (callback_.is_none()) callback_ = py::object();
    if (progress_) stderr_ = py::module_::import("sys").attr("stderr");
  }
  ~Recorder() override {
    py::gil_scoped_acquire gil;  // Python objects die with the GIL held
    callback_ = py::object();
    stderr_ = py::object();
  }

  void write_frame(std::int64_t step, double t, const State& s, const std::vector<double>& obs,
                   const FrameCheckpoint&) override {
    const Index nd = shape_.block();
    // Frame 0 is kept by file runs too: a run stopped before its first computed frame writes no
    // file (sim/io/output_claim.hpp), and its result still holds the initial state.
    if (keep_ || frames_ == 0) {
      x_.insert(x_.end(), s.u.data(), s.u.data() + nd);
      if (shape_.momentum) y_.insert(y_.end(), s.u.data() + nd, s.u.data() + 2 * nd);
    }
    ++frames_;
    if (!progress_ && !callback_) return;
    py::gil_scoped_acquire gil;
    if (progress_) draw(t, false);
    if (callback_) {
      const auto n = static_cast<py::ssize_t>(shape_.n), d = static_cast<py::ssize_t>(shape_.d);
      py::array_t<double> px({n, d});
      std::memcpy(px.mutable_data(), s.u.data(), sizeof(double) * static_cast<std::size_t>(nd));
      py::object py_y = py::none();
      if (shape_.momentum) {
        py::array_t<double> a({n, d});
        std::memcpy(a.mutable_data(), s.u.data() + nd, sizeof(double) * static_cast<std::size_t>(nd));
        py_y = a;
      }
      py::dict od;
      for (std::size_t i = 0; i < names_.size() && i < obs.size(); ++i) od[py::str(names_[i])] = obs[i];
      // The Python layer's trampoline returns True when on_frame asks to stop.
      if (callback_(frames_ - 1, step, t, px, py_y, od).cast<bool>()) {
        stopped_ = true;
        throw Interrupted{0};  // the loop closes its sinks and returns its summary
      }
    }
  }
  void write_summary(const RunTotals&) override {}
  void close() override {
    if (progress_ && frames_ > 0) {
      py::gil_scoped_acquire gil;
      draw(0, true);
    }
  }

  bool stopped() const { return stopped_; }
  std::int64_t frames() const { return frames_; }
  std::vector<double>& x() { return x_; }
  std::vector<double>& y() { return y_; }

 private:
  void draw(double t, bool end) {
    if (end) {
      stderr_.attr("write")("\n");
    } else {
      const double span = t1_ - t0_;
      const double frac = span > 0 ? std::clamp((t - t0_) / span, 0.0, 1.0) : 1.0;
      const int width = 40, fill = static_cast<int>(frac * width + 0.5);
      char buf[160];
      std::snprintf(buf, sizeof buf, "\r[%s%s] %3d%%  t = %-10.4g", std::string(fill, '#').c_str(),
                    std::string(width - fill, ' ').c_str(), static_cast<int>(frac * 100 + 0.5), t);
      stderr_.attr("write")(buf);
    }
    stderr_.attr("flush")();
  }

  Shape shape_;
  bool keep_;
  py::object callback_;
  bool progress_;
  std::vector<std::string> names_;
  double t0_, t1_;
  py::object stderr_;
  std::vector<double> x_, y_;
  std::int64_t frames_ = 0;
  bool stopped_ = false;
};

// Refuses an in-memory run whose frames would not fit in half the machine's memory.
void check_memory(const Scenario& sc) {
  const double frames = static_cast<double>(sc.frame_times().size());
  const double bytes = frames * static_cast<double>(sc.shape().size()) * 8.0;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return;
  const double mem = static_cast<double>(pages) * static_cast<double>(page);
  if (bytes > 0.5 * mem) {
    std::ostringstream os;
    os.precision(3);
    os << sc.path << ": keeping " << frames << " frames of " << sc.tokens.n << " x " << sc.tokens.d
       << " tokens in memory needs " << bytes / 1e9 << " GB, more than half of this machine's "
       << mem / 1e9 << " GB: write them to a file (run(..., output=\"run.h5\")) or record fewer "
       << "frames (run.frames / run.save_every)";
    throw ConfigError(os.str());
  }
}

py::dict run(ScenarioPtr sc, std::optional<std::string> output, py::object callback, bool progress,
             bool overwrite) {
  const bool keep = !output;
  if (keep) check_memory(*sc);
  std::unique_ptr<Simulation> sim;
  {
    py::gil_scoped_release nogil;
    sim = std::make_unique<Simulation>(*sc);
  }
  Recorder rec(*sc, keep, callback, progress);
  RunSummary sum;
  {
    SigintGuard guard;
    py::gil_scoped_release nogil;
    if (output) {
      FileRunOptions fo;
      fo.also = &rec;
      fo.existing = overwrite ? ExistingOutput::Overwrite : ExistingOutput::Backup;
      sum = run_to_file(*sim, *output, fo);
    } else {
      RunOptions ro;
      ro.sink = &rec;
      sum = sim->run(ro);
    }
  }
  int sig = take_pending_signal();
  if (sum.signal) sig = sum.signal;

  const Series& series = sim->series();
  const auto T = static_cast<py::ssize_t>(series.t.size());
  const auto n = static_cast<py::ssize_t>(sc->tokens.n), d = static_cast<py::ssize_t>(sc->tokens.d);
  py::dict r;
  r["times"] = py::array_t<double>(T, series.t.data());
  r["steps"] = py::array_t<std::int64_t>(T, series.step.data());
  py::dict obs;
  for (const auto& name : sc->observe.quantities) {
    auto it = series.values.find(name);
    if (it != series.values.end())
      obs[py::str(name)] = py::array_t<double>(static_cast<py::ssize_t>(it->second.size()), it->second.data());
  }
  r["observables"] = obs;
  if (keep || sum.output.empty()) {
    // Frames the loop completed; a frame handed to the recorder and then refused by on_frame is
    // kept (the file has it too). A file run that wrote no file: its frame 0.
    const auto frames = static_cast<py::ssize_t>(rec.x().size() / static_cast<std::size_t>(n * d));
    r["positions"] = adopt(std::move(rec.x()), {frames, n, d});
    r["momenta"] = sc->shape().momentum ? py::object(adopt(std::move(rec.y()), {frames, n, d}))
                                        : py::object(py::none());
  }
  r["phase_state"] = sim->model().phase_state();
  r["momentum"] = sc->shape().momentum;
  py::dict s;
  s["steps"] = sum.steps;
  s["rejected"] = sum.rejected;
  s["rhs_evals"] = sum.rhs_evals;
  s["oracle_calls"] = sum.oracle_calls;
  s["frames"] = sum.frames;
  s["t_final"] = sum.t_final;
  s["wall_seconds"] = sum.wall_seconds;
  // The file written: none for an in-memory run, and none when a file run stopped before its
  // first computed frame (nothing was written; an earlier file at the path is as it was).
  s["output"] = output && !sum.output.empty() ? py::object(py::str(sum.output)) : py::object(py::none());
  s["requested_output"] = output ? py::object(py::str(*output)) : py::object(py::none());
  s["backup"] = sum.backup.empty() ? py::object(py::none()) : py::object(py::str(sum.backup));
  s["kept"] = sum.kept;
  s["stopped"] = rec.stopped();
  s["signal"] = sig;
  s["line"] = sum.line();
  r["summary"] = s;
  return r;
}

// --- Simulator ---------------------------------------------------------------------------------

class Simulator {
 public:
  explicit Simulator(ScenarioPtr sc) : sc_(std::move(sc)) {
    py::gil_scoped_release nogil;
    sim_ = std::make_unique<Simulation>(*sc_);
    obs_ = std::make_unique<ObservableSet>(*sc_, sim_->model(), sim_->state());
    t_ = sc_->integrator.t0;
    flow_ = dynamic_cast<Flow*>(&sim_->model());
    layers_ = dynamic_cast<LayerMap*>(&sim_->model());
  }

  const ScenarioPtr& scenario() const { return sc_; }
  double t() const { return t_; }
  double dt() const { return sc_->integrator.dt; }
  std::int64_t steps() const { return st_.steps; }
  std::int64_t rejected() const { return st_.rejected; }
  std::int64_t rhs_evals() const { return sim_->model().counters.rhs_evals; }
  std::int64_t oracle_calls() const { return sim_->model().counters.oracle_calls; }
  bool is_flow() const { return flow_ != nullptr; }
  Shape shape() const { return sim_->state().shape; }
  bool phase_state() const { return sim_->model().phase_state(); }
  State& state() { return sim_->state(); }

  // k steps of dt (one layer each for layer maps; adaptive integrators reach t + k dt with as
  // many internal steps as their error control takes).
  void step(std::int64_t k) {
    if (k < 0) throw py::value_error("Simulator.step: k must be >= 0 (got " + std::to_string(k) + ")");
    guarded("step", [&] {
      for (std::int64_t i = 0; i < k; ++i) advance(t_ + sc_->integrator.dt);
    });
  }
  // To time t1 (>= t) in equal steps no longer than dt: what run() does between two frames, so
  // advancing through scenario.frame_times reproduces run() bit for bit.
  void advance_to(double t1) {
    if (!(t1 >= t_)) {
      std::ostringstream os;
      os.precision(17);
      os << "Simulator.advance_to: t1 = " << t1 << " is before the current time t = " << t_;
      throw py::value_error(os.str());
    }
    guarded("advance_to", [&] { advance(t1); });
  }

  py::dict observables() {
    std::vector<double> v;
    {
      py::gil_scoped_release nogil;
      v = obs_->evaluate(t_, sim_->state());
    }
    py::dict d;
    for (std::size_t i = 0; i < v.size(); ++i) d[py::str(obs_->names()[i])] = v[i];
    return d;
  }

  // F(t, state) for flows: dX (and dY for second-order models) as new arrays.
  py::object rhs() {
    if (!flow_) throw py::type_error("Simulator.rhs: " + sim_->model().kind() +
                                     " is a layer map (discrete blocks), not a flow");
    const State& s = sim_->state();
    State ds(s.shape);
    {
      SigintGuard guard;
      py::gil_scoped_release nogil;
      flow_->rhs(t_, s.view(), ds.view());
    }
    if (const int sig = take_pending_signal()) raise_keyboard_interrupt("Simulator.rhs interrupted (signal " + std::to_string(sig) + ")");
    RowMat dx = ds.x();
    if (!s.shape.momentum) return to_array(dx);
    RowMat dy = ds.y();
    return py::make_tuple(to_array(dx), to_array(dy));
  }

  void set_state(py::object positions, py::object momenta) {
    State& s = sim_->state();
    const Index n = s.shape.n, d = s.shape.d;
    if (!positions.is_none()) {
      Matrix x = as_matrix(positions, "Simulator.set_state", "positions", n, d);
      s.x() = x.map();
    }
    if (!momenta.is_none()) {
      if (!s.shape.momentum)
        throw py::value_error("Simulator.set_state: " + sim_->model().kind() + " has no momenta");
      Matrix y = as_matrix(momenta, "Simulator.set_state", "momenta", n, d);
      s.y() = y.map();
    }
    sim_->model().retract(s);
  }

 private:
  void advance(double t1) {
    if (flow_)
      sim_->integrator().advance(*flow_, sim_->state(), t_, t1, st_);
    else
      advance_layers(*layers_, sim_->state(), t_, t1, sc_->integrator.dt, st_);
  }

  // Runs f without the GIL and with the SIGINT guard; on any failure (interrupt, NaN/Inf, ...)
  // puts the simulator back as it was before the call.
  template <class F>
  void guarded(const char* what, F&& f) {
    State& s = sim_->state();
    const Vec u0 = s.u;
    const double t0 = t_;
    const StepStats st0 = st_;
    const Counters c0 = sim_->model().counters;
    const std::vector<double> ck0 = sim_->integrator().save_checkpoint();
    auto restore = [&] {
      s.u = u0;
      t_ = t0;
      st_ = st0;
      sim_->model().counters = c0;
      sim_->integrator().restore_checkpoint(ck0);
    };
    int sig = 0;
    {
      SigintGuard guard;
      py::gil_scoped_release nogil;
      try {
        f();
      } catch (const Interrupted& e) {
        restore();
        sig = e.signal;
      } catch (...) {
        restore();
        throw;
      }
    }
    const int pending = take_pending_signal();
    if (sig || pending) {
      std::ostringstream os;
      os << "Simulator." << what << " interrupted (signal " << (sig ? sig : pending)
         << "); the simulator is as it was before the call (t = " << t_ << ")";
      raise_keyboard_interrupt(os.str());
    }
  }

  ScenarioPtr sc_;
  std::unique_ptr<Simulation> sim_;
  std::unique_ptr<ObservableSet> obs_;
  Flow* flow_ = nullptr;
  LayerMap* layers_ = nullptr;
  double t_ = 0;
  StepStats st_;
};

}  // namespace
}  // namespace attnflow::python

// -------------------------------------------------------------------------------------------------

using namespace attnflow;
using namespace attnflow::python;

PYBIND11_MODULE(_core, m) {
  m.doc() = "attnflow's compiled core (use the attnflow package, not this module directly)";
  m.attr("__version__") = ATTNFLOW_VERSION;
  register_errors();

  py::class_<Scenario, std::shared_ptr<Scenario>> scenario(m, "Scenario", R"doc(
A validated scenario (what a TOML scenario file describes), made by attnflow.load() or
attnflow.from_arrays(). Immutable: scenario.replace(**overrides) returns a new one.

Attributes: name, path, seed, n, d, space ('sphere' | 'euclidean'), model (kind), integrator
(kind), dt, t0, t_end, layers, frame_times (array), output (the [run] output path),
observables (the [observe] quantities), second_order, toml (every key with its effective value),
source (the text as given), values (dict: dotted key -> value as TOML text), inputs (files it
reads), notes (what validation adjusted), overrides; for ensembles: is_ensemble, ensemble,
sweep, grid.)doc");
  scenario
      .def_property_readonly("name", [](const Scenario& s) { return s.run.name; })
      .def_property_readonly("path", [](const Scenario& s) { return s.path; })
      .def_property_readonly("seed", [](const Scenario& s) { return s.run.seed; })
      .def_property_readonly("n", [](const Scenario& s) { return s.tokens.n; })
      .def_property_readonly("d", [](const Scenario& s) { return s.tokens.d; })
      .def_property_readonly("space", [](const Scenario& s) {
        return s.tokens.space == Space::Sphere ? "sphere" : "euclidean";
      })
      .def_property_readonly("model", [](const Scenario& s) { return s.model_kind; })
      .def_property_readonly("integrator", [](const Scenario& s) { return s.integrator.kind; })
      .def_property_readonly("dt", [](const Scenario& s) { return s.integrator.dt; })
      .def_property_readonly("t0", [](const Scenario& s) { return s.integrator.t0; })
      .def_property_readonly("t_end", [](const Scenario& s) { return s.integrator.t_end; })
      .def_property_readonly("layers", [](const Scenario& s) { return s.integrator.layers; })
      .def_property_readonly("frame_times", [](const Scenario& s) {
        const auto t = s.frame_times();
        return py::array_t<double>(static_cast<py::ssize_t>(t.size()), t.data());
      })
      .def_property_readonly("output", [](const Scenario& s) { return s.run.output; })
      .def_property_readonly("observables", [](const Scenario& s) { return s.observe.quantities; })
      .def_property_readonly("second_order", [](const Scenario& s) { return s.shape().momentum; })
      .def_property_readonly("toml", [](const Scenario& s) { return s.resolved_toml; })
      .def_property_readonly("source", [](const Scenario& s) { return s.source_text; })
      .def_property_readonly("values", [](const Scenario& s) { return s.resolved_values; })
      .def_property_readonly("inputs", [](const Scenario& s) { return s.inputs; })
      .def_property_readonly("notes", [](const Scenario& s) { return s.notes; })
      .def_property_readonly("overrides", [](const Scenario& s) { return s.overrides; })
      .def("__repr__", &scenario_repr);

  m.def("load_file", &load_file, py::arg("path"), py::arg("overrides"));
  m.def("load_text", &load_text, py::arg("text"), py::arg("name"), py::arg("overrides"));
  m.def("replace", &replace, py::arg("scenario"), py::arg("overrides"));
  m.def("models", &registry_models, "Registered models: {kind: summary}.");
  m.def("integrators", &registry_integrators, "Registered integrators: {kind: summary}.");
  m.def("run", &run, py::arg("scenario"), py::arg("output"), py::arg("callback"),
        py::arg("progress"), py::arg("overwrite") = false);

  py::class_<Simulator>(m, "Simulator")
      .def(py::init<ScenarioPtr>(), py::arg("scenario"))
      .def_property_readonly("scenario", &Simulator::scenario)
      .def_property_readonly("t", &Simulator::t, "Current time.")
      .def_property_readonly("dt", &Simulator::dt, "Step (or layer width) of the scenario.")
      .def_property_readonly("steps", &Simulator::steps, "Accepted steps (layers) so far.")
      .def_property_readonly("rejected", &Simulator::rejected, "Rejected trial steps (adaptive).")
      .def_property_readonly("rhs_evals", &Simulator::rhs_evals, "Right-hand side evaluations so far.")
      .def_property_readonly("oracle_calls", &Simulator::oracle_calls, "Attention passes over all pairs so far.")
      .def_property_readonly("counters", [](const Simulator& s) {
        py::dict d;
        d["steps"] = s.steps();
        d["rejected"] = s.rejected();
        d["rhs_evals"] = s.rhs_evals();
        d["oracle_calls"] = s.oracle_calls();
        return d;
      }, "steps, rejected, rhs_evals, oracle_calls as a dict.")
      .def_property_readonly("positions", [](py::object self) {
        auto& s = self.cast<Simulator&>();
        const State& st = s.state();
        const auto n = static_cast<py::ssize_t>(st.shape.n), d = static_cast<py::ssize_t>(st.shape.d);
        return view(st.u.data(), {n, d}, {d * 8, 8}, self);
      }, "Token positions, (N, d): a read-only view of the live state (no copy; it follows the "
         "simulation as it steps). Copy it (.copy()) to keep a snapshot.")
      .def_property_readonly("momenta", [](py::object self) -> py::object {
        auto& s = self.cast<Simulator&>();
        const State& st = s.state();
        if (!st.shape.momentum) return py::none();
        const auto n = static_cast<py::ssize_t>(st.shape.n), d = static_cast<py::ssize_t>(st.shape.d);
        return view(st.u.data() + st.shape.block(), {n, d}, {d * 8, 8}, self);
      }, "Momenta (N, d) of second-order models (read-only live view), else None.")
      .def_property_readonly("phases", [](py::object self) -> py::object {
        auto& s = self.cast<Simulator&>();
        const State& st = s.state();
        if (!s.phase_state()) return py::none();
        const auto n = static_cast<py::ssize_t>(st.shape.n), d = static_cast<py::ssize_t>(st.shape.d);
        return view(st.u.data(), {n}, {d * 8}, self);
      }, "Oscillator phases (N,) of phase models (kuramoto; read-only live view), else None.")
      .def("step", &Simulator::step, py::arg("k") = 1)
      .def("advance_to", &Simulator::advance_to, py::arg("t"))
      .def("observables", &Simulator::observables)
      .def("rhs", &Simulator::rhs)
      .def("set_state", &Simulator::set_state, py::arg("positions") = py::none(),
           py::arg("momenta") = py::none());

  bind_kernels(m);
  bind_ensemble(m, scenario);
  m.def("_conversions", [] { return g_conversions.load(); },
        "Array inputs converted to float64 C order since import (for tests).");
}

#pragma GCC visibility pop
