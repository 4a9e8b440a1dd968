#pragma once
// H5MD 1.1 trajectory writer (SPEC section 4; the layout: sim/io/h5md_layout.hpp), HDF5 C API.
//
// Creating a run file never destroys anything (sim/io/output_claim.hpp): the writer writes
// RUN.h5.part, locked, and moves it into place as RUN.h5 at the run's first computed frame
// (frame 1; frame 0 is the initial state) or when a one-frame run completes, keeping an earlier
// RUN.h5 as #RUN.h5.N# (ExistingOutput::Backup) or replacing it (Overwrite). A run that stops
// before that (an error, a signal) removes its .part and leaves an earlier RUN.h5 as it was. The
// ParaView sidecar RUN.xdmf2 exists only under the final name.
//
// Distributed (attnflow-mpi, WriterOptions::comm): the ranks write ONE file together through
// parallel HDF5 (sim/io is compiled a second time for attnflow-mpi, ATTNFLOW_PARALLEL_HDF5),
// laid out exactly as a serial run's (the same datasets, shapes, types, chunks and attributes,
// the tokens in the global order; /parameters mpi_ranks says how many ranks wrote it). Rank 0
// alone touches the filesystem (the claim, its lock, the commit, backups, the sidecar); its
// errors reach every rank (sim/io/collective.hpp). Every HDF5 metadata call (creating, extending,
// attributes, flushing) is made by every rank with the same arguments; each rank writes the rows
// of the per-token series it integrates, rank 0 the per-frame scalars, all in one collective
// transfer per dataset.
#include <memory>
#include <string>
#include <vector>

#include "sim/config/scenario.hpp"
#include "sim/core/comm.hpp"
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
  // Distributed: the ranks, and this rank's tokens (write_frame gets these rows only; `frame0`
  // and `model` are the whole system's). A serial libattnflow (no parallel HDF5) refuses a comm.
  const Comm* comm = nullptr;
  RowBlock rows;
  // Distributed: the integrator checkpoint (`checkpoint_size` values for all N tokens) is a head
  // of values every rank holds alike, followed by this many per-token blocks of N x d values in
  // the token order (e.g. ab2's previous oracle outputs F, G); a rank's FrameCheckpoint holds
  // the head and its rows of each block. 0: no per-token part.
  Index checkpoint_blocks = 0;
};

class H5mdWriter : public FrameSink {
 public:
  // `frame0`: the state of frame 0 (the initial state; resuming, the stored frame 0), whose PCA
  // basis views d > 3 tokens. Distributed, the constructor and every member are collective:
  // every rank calls them, in the same order.
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
  // Writes the new file at `part` (RUN.h5.part, claimed by rank 0).
  void create(const std::string& part, const Scenario& sc, const std::vector<std::string>& observables,
              const Model* model, Index checkpoint_size);
  void open_existing(const ResumePoint& rp, const std::vector<std::string>& observables,
                     Index checkpoint_size);
  void commit();
  void write_sidecar();
  void compute_view_basis(const State& frame0);

  const Comm* comm_ = nullptr;
  RowBlock rows_;          // this rank's tokens (all of them when serial)
  Index ck_blocks_ = 0;    // WriterOptions::checkpoint_blocks
  Index ck_size_ = 0;      // values of a frame's integrator checkpoint (all tokens)
  std::string path_, sidecar_;
  std::unique_ptr<OutputClaim> claim_;  // creating: RUN.h5.part until the commit
  bool committed_ = false;
  using Handle = std::int64_t;  // hid_t (HDF5 stays out of this header)
  Handle file_ = -1;
  Handle xfer_ = 0;        // the data transfer list: H5P_DEFAULT, collective when distributed
  bool closed_ = false;
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
