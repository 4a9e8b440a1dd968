#pragma once
// Shared test helpers: scenarios from text, runs without output, interrupted and resumed runs,
// brute-force references.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "sim/config/scenario.hpp"
#include "sim/core/interrupt.hpp"
#include "sim/io/h5md_writer.hpp"
#include "sim/io/resume.hpp"
#include "sim/io/run_file.hpp"
#include "sim/models/second_order.hpp"
#include "sim/run/simulation.hpp"

namespace attnflow::test {

// A scenario from TOML text; output goes nowhere unless a test asks for it.
inline Scenario scenario(const std::string& text, const std::vector<std::string>& sets = {}) {
  return load_scenario_text(text, "test.toml", sets);
}

// The scenario's model as a flow (throws if it is a layer map), for `seed`.
inline std::unique_ptr<Flow> build_flow(const Scenario& sc, std::uint64_t seed = 1) {
  std::unique_ptr<Model> m = sc.build_model(seed);
  auto* f = dynamic_cast<Flow*>(m.get());
  if (!f) throw Error(m->kind() + " is not a flow");
  m.release();
  return std::unique_ptr<Flow>(f);
}

// Runs a scenario in memory and returns the final state.
inline State run_final(const Scenario& sc) {
  Simulation sim(sc);
  RunOptions opt;
  sim.run(opt);
  return sim.state();
}

// A run file path in the temporary folder, unique per process: attnflow_<tag>_<pid>.h5.
inline std::string tmp_h5(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("attnflow_" + tag + "_" + std::to_string(::getpid()) + ".h5"))
      .string();
}

// Removes a run file and its ParaView sidecar.
inline void remove_run(const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(std::filesystem::path(path).replace_extension(".xdmf2"));
}

// A sink that writes through an H5mdWriter and "interrupts" (as SIGINT would) after k frames.
class InterruptAfter : public FrameSink {
 public:
  InterruptAfter(FrameSink& inner, std::int64_t k) : inner_(inner), k_(k) {}
  void write_frame(std::int64_t step, double t, const State& s, const std::vector<double>& obs,
                   const FrameCheckpoint& ck) override {
    inner_.write_frame(step, t, s, obs, ck);
    if (++n_ == k_) throw Interrupted{2};
  }
  void write_summary(const RunTotals& r) override { inner_.write_summary(r); }
  void close() override { inner_.close(); }

 private:
  FrameSink& inner_;
  std::int64_t k_, n_ = 0;
};

// Writes `full` (an uninterrupted run of sc) and `part` (interrupted after k frames, then resumed
// from the file as `attnflow run --resume` does), for the caller to compare.
inline void run_full_and_resumed(const Scenario& sc, const std::string& full, const std::string& part,
                                 std::int64_t k) {
  remove_run(full);
  remove_run(part);
  {
    Simulation sim(sc);
    run_to_file(sim, full);
  }
  {
    Simulation sim(sc);
    H5mdWriter w(part, sc, sc.observe.quantities, sim.state(), &sim.model(),
                 sim.integrator().checkpoint_size(sim.state().shape));
    InterruptAfter stop(w, k);
    RunOptions ro;
    ro.sink = &stop;
    CHECK(sim.run(ro).signal == 2);
  }
  const ResumePoint rp = read_resume_point(part);
  CHECK(rp.frames == k);
  Simulation sim(sc);
  FileRunOptions fo;
  fo.resume = &rp;
  run_to_file(sim, part, fo);
}

// Materialised reference: softmax(beta (X Q^T)(X K^T)^T) X V^T, or with 1/N instead of the
// row normalisation. Builds the N x N matrix on purpose.
inline RowMat attention_reference(const RowMat& x, const RowMat& Q, const RowMat& K,
                                  const RowMat& V, double beta, bool softmax) {
  const RowMat s = beta * (x * Q.transpose()) * (x * K.transpose()).transpose();
  RowMat w(s.rows(), s.cols());
  for (Index i = 0; i < s.rows(); ++i) {
    const double m = softmax ? s.row(i).maxCoeff() : 0.0;
    for (Index j = 0; j < s.cols(); ++j) w(i, j) = std::exp(s(i, j) - m);
    if (softmax)
      w.row(i) /= w.row(i).sum();
    else
      w.row(i) /= static_cast<double>(s.cols());
  }
  return w * (x * V.transpose());
}

// Separable quadratic Hamiltonian H = 1/2 y^T Minv y + 1/2 x^T K x per token (c = 1).
class Quadratic : public HamiltonianModel {
 public:
  Quadratic(Index n, Index d, RowMat minv, RowMat k, Damping dmp)
      : HamiltonianModel(Shape{n, d, true}, Space::Euclidean, dmp), minv_(std::move(minv)),
        k_(std::move(k)) {}
  std::string kind() const override { return "test_quadratic"; }
  double symplectic_scale() const override { return 1.0; }
  void oracle(double, CMatMap x, CMatMap y, RowMat& F, RowMat& G) override {
    velocity(y, F);
    G = -(x * k_);
  }
  int velocity(CMatMap y, RowMat& F) override {
    F = y * minv_;
    return 0;
  }
  double kinetic_energy(ConstStateView s) override {
    return 0.5 * (s.y() * minv_).cwiseProduct(s.y()).sum();
  }
  double potential_energy(ConstStateView s) override {
    return 0.5 * (s.x() * k_).cwiseProduct(s.x()).sum();
  }
  double hamiltonian(ConstStateView s) override { return kinetic_energy(s) + potential_energy(s); }

 private:
  RowMat minv_, k_;
};

}  // namespace attnflow::test
