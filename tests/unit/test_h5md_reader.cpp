// The one reader of run files (sim/io/h5md_reader.hpp), the run file's lock and exclusive
// creation (sim/io/output_claim.hpp), and the resume point built from a file (sim/io/resume.hpp).
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "sim/io/h5md_layout.hpp"
#include "sim/io/h5md_reader.hpp"
#include "sim/io/output_claim.hpp"
#include "sim/io/resume.hpp"
#include "sim/io/run_file.hpp"

using namespace attnflow;
namespace fs = std::filesystem;

namespace {

const char* kRun = R"(
[run]
name = "reader_test"
seed = 11
frames = 6
[tokens]
n = 12
d = 5
space = "sphere"
[model]
kind = "attention"
beta = 2.0
[integrator]
kind = "rk4"
dt = 0.05
t_end = 0.5
[observe]
quantities = ["energy", "diameter"]
)";

// A fresh folder for one test case.
struct TempDir {
  fs::path dir;
  explicit TempDir(const std::string& name)
      : dir(fs::temp_directory_path() / ("attnflow_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& f) const { return (dir / f).string(); }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Extends one per-frame series by a row, as a run killed in the middle of a frame leaves it.
void add_partial_frame(const std::string& file, const char* dataset) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[3];
  const int rank = H5Sget_simple_extent_dims(sp, dims, nullptr);
  H5Sclose(sp);
  REQUIRE(rank >= 1);
  dims[0] += 1;
  REQUIRE(H5Dset_extent(d, dims) >= 0);
  H5Dclose(d);
  H5Fclose(f);
}

// kRun written to a fresh folder: the simulation (for its series and final state) and the file.
struct WrittenRun {
  TempDir tmp;
  Scenario sc = test::scenario(kRun);
  Simulation sim{sc};
  std::string file;
  explicit WrittenRun(const std::string& name) : tmp(name), file(tmp / "run.h5") { run_to_file(sim, file); }
};

}  // namespace

TEST_CASE("the reader returns what the run wrote: metadata, frames, positions, observables, checkpoints") {
  WrittenRun w("reader");
  const std::string& file = w.file;
  const Scenario& sc = w.sc;
  Simulation& sim = w.sim;
  {
    H5mdReader r(file);
    r.require_run();
    const RunMetadata& m = r.metadata();
    CHECK(m.name == "reader_test");
    CHECK(m.n == 12);
    CHECK(m.d == 5);
    CHECK(m.seed == 11);
    CHECK(m.space == "sphere");
    CHECK(m.complete == 1);
    CHECK(m.scenario == sc.resolved_toml);
    CHECK(m.scenario_hash == h5md::scenario_hash(sc.resolved_toml));
    CHECK(r.frames() == 6);
    CHECK(r.tokens() == 12);
    CHECK(r.dim() == 5);
    CHECK(r.times() == sim.series().t);
    CHECK(r.steps() == sim.series().step);
    CHECK(r.positions(5) == sim.state().x());
    CHECK(r.view(0).cols() == 3);
    CHECK(r.observable_names() == std::vector<std::string>{"diameter", "energy"});
    const ObservableSeries e = r.observable("energy");
    CHECK(e.value == sim.series().values.at("energy"));
    CHECK(e.time == sim.series().t);
    CHECK_THROWS_AS(r.observable("nope"), ConfigError);
    CHECK_THROWS_AS(r.positions(6), ConfigError);
    const StoredCheckpoint c = r.checkpoint(5);
    CHECK(c.rhs_evals == 40);
    CHECK(c.oracle_calls == 40);
    CHECK(r.has_token_series("position"));
    CHECK_FALSE(r.has_token_series("charge"));
    const TokenSeries x = r.token_series("position");
    CHECK(x.frames == 6);
    CHECK(x.tokens == 12);
    CHECK(x.components == 5);
  }

  // A partly written last frame (a killed run): the complete frames are the shortest series.
  add_partial_frame(file, h5md::kPositionValue);
  add_partial_frame(file, h5md::kPositionTime);
  H5mdReader r2(file);
  CHECK(r2.frames() == 6);
  CHECK(r2.times().size() == 6);
  CHECK(r2.token_series("position").data.size() == 6u * 12u * 5u);
}

TEST_CASE("the reader writes fits and matrices under the file's lock, and reads them back") {
  WrittenRun w("reader_fits");
  const std::string& file = w.file;
  {
    H5mdReader r(file);
    StoredFit f;
    CHECK_THROWS_AS(r.write_fit("energy", f), Error);  // read-only
  }
  {
    H5mdReader w(file, H5mdReader::Access::Update);
    // The lock is held: another writer is refused, naming the file.
    CHECK_THROWS_WITH_AS(H5mdReader(file, H5mdReader::Access::Update), doctest::Contains(file.c_str()), ConfigError);
    StoredFit f;
    f.rate = 0.5;
    f.intercept = 1.0;
    f.t0 = 0.1;
    f.t1 = 0.4;
    w.write_fit("energy", f);
    w.write_matrices("ssa", {RowMat::Identity(3, 3), RowMat::Ones(3, 3)});
  }
  H5mdReader r(file);
  const auto fits = r.fits();
  REQUIRE(fits.count("energy"));
  CHECK(fits.at("energy").rate == 0.5);
  CHECK(fits.at("energy").t1 == 0.4);
  CHECK(std::isnan(fits.at("energy").power_rate));
  CHECK(r.matrix_names() == std::vector<std::string>{"ssa"});
  const StoredMatrix m = r.matrix("ssa");
  CHECK(m.heads == 2);
  CHECK(m.at(0, 1, 1) == 1.0);
  CHECK(m.at(0, 0, 1) == 0.0);
  CHECK(m.at(1, 0, 1) == 1.0);
  CHECK_THROWS_WITH_AS(r.matrix("nope"), doctest::Contains("stored: ssa"), ConfigError);
}

TEST_CASE("the reader names the file and the reason: not HDF5, empty, foreign, no frames") {
  TempDir tmp("reader_bad");
  const std::string text = tmp / "notes.h5", empty = tmp / "empty.h5", foreign = tmp / "foreign.h5";
  std::ofstream(text) << "this is not HDF5\n";
  std::ofstream(empty).close();
  {
    hid_t f = H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 3;
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    hid_t d = H5Dcreate2(f, "particles", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
  }
  CHECK_THROWS_WITH_AS(H5mdReader{text}, doctest::Contains("not an HDF5 file"), IoError);
  CHECK_THROWS_WITH_AS(H5mdReader{empty}, doctest::Contains("empty file"), IoError);
  CHECK_THROWS_WITH_AS(H5mdReader{tmp / "missing.h5"}, doctest::Contains("no such file"), IoError);
  H5mdReader f(foreign);  // readable HDF5: what it is not is said when asked
  CHECK(f.frames() == 0);
  CHECK_FALSE(f.has_positions());
  CHECK_THROWS_WITH_AS(f.require_run(), doctest::Contains("not an attnflow run"), ConfigError);
  CHECK_THROWS_WITH_AS(f.require_frames(), doctest::Contains("no frames"), ConfigError);
}

TEST_CASE("output claims: a second writer is refused, an uncommitted claim leaves the old file, a commit keeps a backup") {
  TempDir tmp("claim");
  const std::string target = tmp / "x.h5", side = tmp / "x.xdmf2";
  std::ofstream(target) << "earlier run";
  std::ofstream(side) << "earlier sidecar";
  {
    OutputClaim a(target, ExistingOutput::Backup);
    CHECK(fs::exists(a.part()));
    CHECK(FileLock::held_by_writer(a.part()));
    // In a's start-up: refused (the .part is locked), nothing touched.
    CHECK_THROWS_WITH_AS(OutputClaim(target, ExistingOutput::Overwrite), doctest::Contains("being written"),
                         ConfigError);
    CHECK(fs::exists(a.part()));
  }  // destroyed uncommitted: the .part goes, the earlier file stays
  CHECK_FALSE(fs::exists(target + ".part"));
  CHECK(slurp(target) == "earlier run");
  {
    OutputClaim a(target, ExistingOutput::Backup);
    std::ofstream(a.part()) << "new run";
    a.commit();
    CHECK(a.backup() == backup_path(target, 1));
    CHECK(slurp(target) == "new run");
    CHECK(slurp(backup_path(target, 1)) == "earlier run");
    CHECK(slurp(backup_path(side, 1)) == "earlier sidecar");
    CHECK_FALSE(fs::exists(side));
    // The committed file is still held: another run is refused.
    CHECK(FileLock::held_by_writer(target));
    CHECK_THROWS_WITH_AS(OutputClaim(target, ExistingOutput::Backup), doctest::Contains("being written"),
                         ConfigError);
  }
  CHECK_FALSE(FileLock::held_by_writer(target));
  // A stale .part (a run killed in its start-up holds no lock) is removed by the next claim.
  std::ofstream(target + ".part") << "stale";
  {
    OutputClaim b(target, ExistingOutput::Overwrite);
    std::ofstream(b.part()) << "third run";
    b.commit();
    CHECK(b.backup().empty());
  }
  CHECK(slurp(target) == "third run");
  CHECK(slurp(backup_path(target, 1)) == "earlier run");
  CHECK_FALSE(fs::exists(backup_path(target, 2)));
  CHECK(backup_path("out/run.h5", 3) == "out/#run.h5.3#");
}

TEST_CASE("a resume point comes from the file alone: last frame, counters, stored frames, hash") {
  WrittenRun w("resume");
  const std::string& file = w.file;
  const Scenario& sc = w.sc;
  Simulation& sim = w.sim;
  const RowMat x2 = H5mdReader(file).positions(2);
  {
    const ResumePoint rp = read_resume_point(file);
    CHECK(rp.complete);
    CHECK(rp.frames == 6);
    CHECK(rp.scenario_text == sc.resolved_toml);
    CHECK(rp.x == Eigen::Map<const Vec>(sim.state().u.data(), 60));
    CHECK(rp.times == sim.series().t);
    REQUIRE(rp.history);
    State s(sc.shape());
    double t = -1;
    rp.history->frame(2, t, s);
    CHECK(t == sim.series().t[2]);
    CHECK(s.x() == x2);
    // While the resume point lives, the file is held.
    CHECK(FileLock::held_by_writer(file));
  }
  CHECK_FALSE(FileLock::held_by_writer(file));
  // Edit the stored scenario: refused.
  {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t par = H5Gopen2(f, h5md::kParameters, H5P_DEFAULT);
    hid_t a = H5Aopen(par, h5md::attr::kScenarioHash, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    const std::string other = h5md::scenario_hash("something else");
    H5Awrite(a, t, other.c_str());
    H5Tclose(t);
    H5Aclose(a);
    H5Gclose(par);
    H5Fclose(f);
  }
  CHECK_THROWS_WITH_AS(read_resume_point(file), doctest::Contains("edited after the run"), ConfigError);
}
