#pragma once
// H5MD 1.1 trajectory writer (SPEC section 4; the layout: sim/io/h5md_layout.hpp), HDF5 C API.
//
// Creating a run file never destroys anything (sim/io/output_claim.hpp): the writer writes
// RUN.h5.part, locked, and moves it into place as RUN.h5 at the run's first computed frame
// (frame 1; frame 0 is the initial state) or when a one-frame run completes, keeping an earlier
// RUN.h5 as #RUN.h5.N# (ExistingOutput::Backup) or replacing it (Overwrite). A run that stops
// before that (an error, a signal) removes its .part and leaves an earlier RUN.h5 as it was. The
// ParaView sidecar RUN.xdmf2 exists only under the final name.
#include <memory>
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/core/model.hpp"
#include "sim/core/state.hpp"
#include "sim/io/output_claim.hpp"
#include "sim/run/frame_sink.hpp"

namespace attnflow {

struct WriterOptions {
  ExistingOutput existing = ExistingOutput::Backup;
  // Append to the run file after this resume point's frames (cutting any partial frame). Its
  // history holds the file's lock for the whole resumed run.
  const ResumePoint* resume = nullptr;
};

class H5mdWriter : public FrameSink {
 public:
  // `frame0`: the state of frame 0 (the initial state; resuming, the stored frame 0), whose PCA
  // basis views d > 3 tokens.
  H5mdWriter(const std::string& path, const Scenario& sc, const std::vector<std::string>& observables,
             const State& frame0, const Model* model = nullptr, Index checkpoint_size = 0,
             const WriterOptions& opt = {});
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
  // Whether the file is in place under its final name (else close() removes the .part).
  bool committed() const { return committed_; }
  // Where an earlier file at the output path went ("" if none).
  std::string backup() const { return claim_ ? claim_->backup() : std::string(); }

 private:
  void create(const Scenario& sc, const std::vector<std::string>& observables, const Model* model,
              Index checkpoint_size);
  void open_existing(const ResumePoint& rp, const std::vector<std::string>& observables,
                     Index checkpoint_size);
  void commit();
  void write_sidecar();
  void compute_view_basis(const State& frame0);

  std::string path_, sidecar_;
  std::unique_ptr<OutputClaim> claim_;  // creating: RUN.h5.part until the commit
  bool committed_ = false;
  using Handle = std::int64_t;  // hid_t (HDF5 stays out of this header)
  Handle file_ = -1;
  Handle step_ = -1, time_ = -1, pos_ = -1, mom_ = -1, view_ = -1, phase_ = -1;
  bool phase_view_ = false;
  bool density_view_ = false;  // /fields/density: view cell i at (cos theta_i, sin theta_i, rho_i)
  std::vector<Handle> obs_;
  Handle counters_ = -1, integ_ = -1;
  Shape shape_;
  RowMat view_basis_;  // d x 3
  Vec view_center_;
  std::int64_t frames_ = 0;
  std::vector<double> times_;
};

}  // namespace attnflow
