#include "sim/io/resume.hpp"

#include <filesystem>

#include "sim/core/error.hpp"
#include "sim/io/collective.hpp"
#include "sim/io/h5md_layout.hpp"
#include "sim/io/h5md_reader.hpp"
#include "sim/io/output_claim.hpp"

namespace attnflow {

namespace {

// The frames of the run file, read on demand; owns the open, locked file (distributed: the lock
// is rank 0's `lock_`, the reader's handle read-only).
class StoredFrames : public FrameHistory {
 public:
  StoredFrames(std::unique_ptr<H5mdReader> r, std::vector<double> times, FileLock lock)
      : lock_(std::move(lock)), reader_(std::move(r)), times_(std::move(times)) {}
  void frame(std::int64_t k, double& t, State& s) const override {
    t = times_.at(static_cast<std::size_t>(k));
    const RowMat x = reader_->positions(k);
    if (x.rows() != s.shape.n || x.cols() != s.shape.d)
      throw ConfigError(reader_->path() + ": the stored positions do not match the scenario's shape");
    s.x() = x;
    if (s.shape.momentum) s.y() = reader_->momenta(k);
  }

 private:
  FileLock lock_;  // (released after the reader has closed the file)
  std::unique_ptr<H5mdReader> reader_;
  std::vector<double> times_;
};

// The resume point of `path`, read by this rank (distributed: read-only, rank 0's `lock`).
ResumePoint read_point(const std::string& path, const Comm* comm, FileLock lock) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ConfigError(path + ": no such run file");
  auto r = std::make_unique<H5mdReader>(path, comm ? H5mdReader::Access::Held : H5mdReader::Access::Update);
  r->require_run();
  const RunMetadata& m = r->metadata();
  if (m.scenario.empty())
    throw ConfigError(path + ": not an attnflow run file (no scenario stored in " + h5md::kScenario + ")");
  if (!r->has_checkpoint()) throw ConfigError(path + ": no checkpoint data (written by an older attnflow?)");
  if (m.scenario_hash.empty())
    throw ConfigError(path + ": no " + h5md::attr::kScenarioHash + " in " + h5md::kParameters +
                      " (written by an older attnflow): the stored scenario cannot be checked, so "
                      "the run is not resumed");
  if (h5md::scenario_hash(m.scenario) != m.scenario_hash)
    throw ConfigError(path + ": the stored scenario (" + h5md::kScenario + ") was edited after the run " +
                      "(its hash is not the " + h5md::attr::kScenarioHash + " recorded when the run " +
                      "started): resuming it would mix two runs in one file; rerun the scenario instead");
  const std::int64_t T = r->frames();
  if (T == 0) throw ConfigError(path + ": the run file holds no complete frame to resume from");
  ResumePoint rp;
  rp.scenario_text = m.scenario;
  rp.scenario_path = m.scenario_path.empty() ? path : m.scenario_path;
  rp.complete = m.complete == 1;
  rp.frames = T;
  rp.times = r->times();
  const std::int64_t k = T - 1;
  rp.step = r->steps().at(static_cast<std::size_t>(k));
  rp.t = rp.times.at(static_cast<std::size_t>(k));
  const RowMat x = r->positions(k);
  rp.x = Eigen::Map<const Vec>(x.data(), x.size());
  if (r->has_momentum()) {
    const RowMat y = r->momenta(k);
    rp.y = Eigen::Map<const Vec>(y.data(), y.size());
  }
  const StoredCheckpoint c = r->checkpoint(k);
  rp.checkpoint.rhs_evals = c.rhs_evals;
  rp.checkpoint.oracle_calls = c.oracle_calls;
  rp.checkpoint.rejected = c.rejected;
  rp.checkpoint.integrator = c.integrator;
  rp.history = std::make_shared<StoredFrames>(std::move(r), rp.times, std::move(lock));
  return rp;
}

}  // namespace

ResumePoint read_resume_point(const std::string& path, const Comm* comm) {
  FileLock lock;
  if (comm) {
    on_root(comm, [&] {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) throw ConfigError(path + ": no such run file");
      if (std::filesystem::is_directory(path, ec))
        throw ConfigError(path + ": is a directory, not a run file");
      lock = FileLock::exclusive(path, "write to it");
    });
  }
  ResumePoint rp;
  on_all(comm, [&] { rp = read_point(path, comm, std::move(lock)); });
  return rp;
}

}  // namespace attnflow
