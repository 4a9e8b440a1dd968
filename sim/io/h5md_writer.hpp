#pragma once
// H5MD 1.1 trajectory writer (SPEC section 4), HDF5 C API.
//
//   /h5md                        version [1,1]; author/name; creator/name, creator/version
//   /particles/tokens/box        dimension = d; boundary = "none" x d
//   /particles/tokens/position   step[T] int64, time[T] float64, value[T][N][d]
//   /particles/tokens/momentum   value[T][N][d] (second-order models); step/time hard links
//   /particles/tokens/phase      value[T][N] (oscillator models); /particles/tokens/<name>[N]
//                                time-independent per-token arrays (e.g. frequency)
//   /particles/tokens_view/position  value[T][N][3]: d = 3 as is; d > 3 the fixed PCA basis of
//                                the initial cloud; d = 2 (x, y, 0); d = 1 (x, 0, 0)
//   /observables/<name>          step[T], time[T] (hard links), value[T]
//   /parameters                  datasets scenario (resolved TOML), scenario_source, plus
//                                attributes name, space, d, n, seed, model, attnflow_version,
//                                scenario_path; at the end steps, rhs_evals, oracle_calls, ...
//   /checkpoint/counters         value[T][3] int64: rhs_evals, oracle_calls, rejected steps
//   /checkpoint/integrator       value[T][K] float64: integrator state (K > 0 only)
//                                (what `attnflow run --resume` needs besides the positions)
//
// Every dataset has an unlimited first axis and is chunked one frame per chunk; the file is
// flushed after every frame, so a killed run leaves a readable file. Next to RUN.h5 a ParaView
// sidecar RUN.xdmf2 (XDMF 2 temporal collection of Polyvertex grids whose geometry is a
// HyperSlab into tokens_view/position/value; paths relative to the sidecar) is rewritten as
// frames are added.
#include <string>
#include <vector>

#include "sim/core/model.hpp"
#include "sim/config/scenario.hpp"
#include "sim/core/state.hpp"
#include "sim/run/frame_sink.hpp"

namespace attnflow {

class H5mdWriter : public FrameSink {
 public:
  enum class Mode { Create, Append };
  // Append: open an existing run file, truncate every series to its last complete frame and
  // continue writing after it.
  H5mdWriter(const std::string& path, const Scenario& sc, const std::vector<std::string>& observables,
             const State& initial, const Model* model = nullptr, Index checkpoint_size = 0,
             Mode mode = Mode::Create);
  ~H5mdWriter() override;
  H5mdWriter(const H5mdWriter&) = delete;
  H5mdWriter& operator=(const H5mdWriter&) = delete;

  void write_frame(std::int64_t step, double t, const State& s, const std::vector<double>& obs,
                   const FrameCheckpoint& ck) override;
  // Run counters as attributes of /parameters: steps, rhs_evals, oracle_calls (int64),
  // t_final, wall_seconds (float64), complete (1 when every frame was written, else 0).
  void write_summary(const RunTotals& totals) override;
  void close() override;
  const std::string& path() const { return path_; }
  std::int64_t frames() const { return frames_; }

 private:
  void write_sidecar();
  void compute_view_basis(const State& initial);
  void open_existing(const std::vector<std::string>& observables, Index checkpoint_size);
  std::string path_, sidecar_;
  using Handle = std::int64_t;  // hid_t (HDF5 stays out of this header)
  Handle file_ = -1;
  Handle step_ = -1, time_ = -1, pos_ = -1, mom_ = -1, view_ = -1, phase_ = -1;
  bool phase_view_ = false;
  std::vector<Handle> obs_;
  Handle counters_ = -1, integ_ = -1;
  Shape shape_;
  RowMat view_basis_;  // d x 3
  Vec view_center_;
  std::int64_t frames_ = 0;
  std::vector<double> times_;
};

}  // namespace attnflow
