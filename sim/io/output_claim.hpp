#pragma once
// Nothing a run writes ever destroys an earlier result or another run's file.
//
// A run holds flock(LOCK_EX) on its output file from its creation to the end of the run (and
// `run --resume`, `analyze --write-fits`, `analyze --ssa --write-matrices` hold it while they
// write). HDF5's own file locking is off for these writers (a second descriptor of the same file
// would conflict with the flock); readers that use HDF5's locking (h5py, `attnflow analyze`,
// `attnflow render`) take a shared lock, so they are refused while a run writes the file, unless
// HDF5_USE_FILE_LOCKING=FALSE.
//
// Creating RUN.h5 (OutputClaim):
//   1. refused (ConfigError, exit 2) before anything is touched when RUN.h5 is held by a live
//      writer, when RUN.h5 is not a regular file, or, keeping backups, when #RUN.h5.1# ..
//      #RUN.h5.99# all exist;
//   2. an unnamed file beside RUN.h5 (O_TMPFILE, else a unique temporary name) is locked and
//      then linked to RUN.h5.part (atomic: fails if another run is in its start-up; a stale,
//      unlocked .part left by a killed run is removed);
//   3. HDF5 writes RUN.h5.part; at the commit (the run's first computed frame, see
//      H5mdWriter) an existing RUN.h5 and RUN.xdmf2 are renamed to #RUN.h5.N# and
//      #RUN.xdmf2.N# (the lowest N free for both, as GROMACS does), or replaced with
//      ExistingOutput::Overwrite, and RUN.h5.part is renamed to RUN.h5: the locked inode is
//      now the target;
//   4. a claim destroyed before its commit removes RUN.h5.part: the earlier RUN.h5 stays as
//      it was.
#include <string>

namespace attnflow {

enum class ExistingOutput { Backup, Overwrite };

constexpr int kMaxBackups = 99;

// RUN.xdmf2 next to RUN.h5 (the ParaView sidecar).
std::string sidecar_path(const std::string& h5_path);
// dir/#name.k# for dir/name.
std::string backup_path(const std::string& path, int k);

// flock() on a descriptor of a file, held until destruction (or release()).
class FileLock {
 public:
  FileLock() = default;
  // LOCK_EX on `path`. Throws IoError when the file cannot be opened and ConfigError naming
  // the file when another process holds a lock on it (a run writing it, or a program reading
  // it); `purpose` says what the lock is for ("resume", "write the fits").
  static FileLock exclusive(const std::string& path, const std::string& purpose);
  // Whether a live writer (LOCK_EX) holds `path`; false if it does not exist.
  static bool held_by_writer(const std::string& path);
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock& operator=(FileLock&& o) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { release(); }
  bool held() const { return fd_ >= 0; }
  void release();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class OutputClaim {
 public:
  // Steps 1 and 2 above. Throws ConfigError (refused: exit 2) or IoError (exit 4).
  OutputClaim(const std::string& target, ExistingOutput policy);
  ~OutputClaim();
  OutputClaim(const OutputClaim&) = delete;
  OutputClaim& operator=(const OutputClaim&) = delete;

  const std::string& target() const { return target_; }
  const std::string& part() const { return part_; }
  const std::string& sidecar() const { return sidecar_; }
  // Step 3. Throws ConfigError if a live writer took the target meanwhile or no backup number
  // is free any more (the claim is then still uncommitted).
  void commit();
  bool committed() const { return committed_; }
  // Where the earlier RUN.h5 went ("" if there was none or it was overwritten).
  const std::string& backup() const { return backup_; }
  // Step 4 now (call once the file is closed); also releases the lock.
  void abandon();
  // Releases the lock on the committed file (call once it is closed).
  void release();

 private:
  std::string target_, part_, sidecar_, backup_;
  ExistingOutput policy_;
  int fd_ = -1;  // holds the lock: on RUN.h5.part, after the commit on RUN.h5
  bool committed_ = false;
};

}  // namespace attnflow
