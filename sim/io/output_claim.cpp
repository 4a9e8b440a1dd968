#include "sim/io/output_claim.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "sim/core/error.hpp"

namespace attnflow {
namespace fs = std::filesystem;

namespace {

std::string why() { return std::strerror(errno); }

// Another process holds LOCK_EX on the open file `fd` (a shared probe fails).
bool writer_holds(int fd) {
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

std::string being_written(const std::string& path) {
  return path + " is being written by another attnflow run (it holds the file's lock): wait for "
                "it to finish, or choose another output with -o";
}

// rename without replacing an existing `to` (renameat2 RENAME_NOREPLACE where the file system
// supports it). Returns false with errno = EEXIST when `to` exists.
bool rename_noreplace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS) return false;
#endif
  std::error_code ec;
  if (fs::exists(to, ec)) {
    errno = EEXIST;
    return false;
  }
  return ::rename(from.c_str(), to.c_str()) == 0;
}

bool exists_nofollow(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// The lowest k in 1..kMaxBackups with neither #RUN.h5.k# nor #RUN.xdmf2.k#; 0 if none.
int free_backup(const std::string& target, const std::string& sidecar) {
  for (int k = 1; k <= kMaxBackups; ++k)
    if (!exists_nofollow(backup_path(target, k)) && !exists_nofollow(backup_path(sidecar, k))) return k;
  return 0;
}

std::string no_backup_left(const std::string& target) {
  return target + ": " + std::to_string(kMaxBackups) + " backups of earlier runs (" +
         fs::path(backup_path(target, 1)).filename().string() + " .. " +
         fs::path(backup_path(target, kMaxBackups)).filename().string() +
         ") already exist: remove some, choose another output with -o, or give --overwrite to "
         "replace " + target;
}

// A new, locked, empty file linked at `part`. Returns its descriptor, or -1 with errno = EEXIST
// when `part` exists.
int create_locked(const std::string& dir, const std::string& part, const std::string& target) {
  int fd = -1;
  std::string tmp;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
#endif
  if (fd < 0) {
    std::string name = ".";  // (appended: GCC 12 warns wrongly about "." + s, -Wrestrict)
    name.append(fs::path(target).filename().string()).append(".XXXXXX");
    tmp = (fs::path(dir) / name).string();
    fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) throw IoError(target + ": cannot create a file in " + dir + ": " + why());
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string e = why();
    ::close(fd);
    if (!tmp.empty()) ::unlink(tmp.c_str());
    throw IoError(target + ": cannot lock a new file: " + e);
  }
  int r;
  if (tmp.empty()) {
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    r = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, part.c_str(), AT_SYMLINK_FOLLOW);
    if (r != 0 && errno != EEXIST)
      r = ::linkat(fd, "", AT_FDCWD, part.c_str(), AT_EMPTY_PATH);
  } else {
    r = ::link(tmp.c_str(), part.c_str());
    const int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
  }
  if (r != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EEXIST) {
      errno = EEXIST;
      return -1;
    }
    throw IoError(target + ": cannot create " + part + ": " + std::strerror(e));
  }
  return fd;
}

// `part` exists: refuse if a live run holds it, else (a run killed in its start-up left it)
// remove it. Returns normally when `part` is gone.
void clear_stale_part(const std::string& part, const std::string& target) {
  const int fd = ::open(part.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return;
    throw IoError(part + ": cannot open: " + why());
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw ConfigError(target + " is being written by another attnflow run (in its start-up: " +
                      part + " is locked): wait for it to finish, or choose another output with -o");
  }
  // Still the same file under that name (not one another run has just created)?
  struct stat a, b;
  if (::fstat(fd, &a) == 0 && ::stat(part.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
      a.st_dev == b.st_dev)
    ::unlink(part.c_str());
  ::close(fd);
}

}  // namespace

std::string sidecar_path(const std::string& h5_path) {
  const fs::path p(h5_path);
  return (p.parent_path() / p.stem()).string() + ".xdmf2";
}

std::string backup_path(const std::string& path, int k) {
  const fs::path p(path);
  std::string name = "#";  // (appended: GCC 12 warns wrongly about "#" + s, -Wrestrict)
  name.append(p.filename().string()).append(".").append(std::to_string(k)).append("#");
  return (p.parent_path() / name).string();
}

// --- FileLock ------------------------------------------------------------------------------

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void FileLock::release() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
  fd_ = -1;
}

FileLock FileLock::exclusive(const std::string& path, const std::string& purpose) {
  // Read-write where allowed (an exclusive lock over NFS needs it), else read-only.
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open to " + purpose + ": " + why());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool writer = writer_holds(fd);
    ::close(fd);
    if (writer) throw ConfigError(being_written(path) + " (cannot " + purpose + " meanwhile)");
    throw ConfigError(path + " is open in another program that holds a lock on it (a reader "
                             "such as h5py or attnflow render): close it to " + purpose);
  }
  return FileLock(fd);
}

bool FileLock::held_by_writer(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool w = writer_holds(fd);
  ::close(fd);
  return w;
}

// --- OutputClaim ---------------------------------------------------------------------------

OutputClaim::OutputClaim(const std::string& target, ExistingOutput policy)
    : target_(target), part_(target + ".part"), sidecar_(sidecar_path(target)), policy_(policy) {
  std::error_code ec;
  const fs::path p(target);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  if (fs::exists(target, ec) && !fs::is_regular_file(target, ec))
    throw ConfigError(target + ": exists and is not a file (a folder?): choose another output with -o");
  if (FileLock::held_by_writer(target)) throw ConfigError(being_written(target));
  if (policy_ == ExistingOutput::Backup && (exists_nofollow(target) || exists_nofollow(sidecar_)) &&
      free_backup(target, sidecar_) == 0)
    throw ConfigError(no_backup_left(target));
  for (int attempt = 0; attempt < 3 && fd_ < 0; ++attempt) {
    fd_ = create_locked(dir, part_, target);
    if (fd_ < 0) clear_stale_part(part_, target);
  }
  if (fd_ < 0) throw ConfigError(being_written(target) + " (" + part_ + " keeps reappearing)");
}

OutputClaim::~OutputClaim() {
  if (committed_)
    release();
  else
    abandon();
}

void OutputClaim::commit() {
  if (committed_) return;
  // Hold the earlier target (a shared lock: readers may keep it open; a writer may not hold it)
  // while it is moved aside.
  int old = ::open(target_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (old >= 0 && ::flock(old, LOCK_SH | LOCK_NB) != 0) {
    ::close(old);
    throw ConfigError(being_written(target_));
  }
  auto done = [&] {
    if (old >= 0) ::close(old);
    old = -1;
  };
  try {
    if (policy_ == ExistingOutput::Backup && (exists_nofollow(target_) || exists_nofollow(sidecar_))) {
      for (;;) {
        const int k = free_backup(target_, sidecar_);
        if (k == 0) throw ConfigError(no_backup_left(target_));
        const std::string bt = backup_path(target_, k), bs = backup_path(sidecar_, k);
        if (exists_nofollow(target_)) {
          if (!rename_noreplace(target_, bt)) {
            if (errno == EEXIST) continue;  // taken meanwhile: the next number
            throw IoError(target_ + ": cannot rename it to " + bt + ": " + why());
          }
          backup_ = bt;
        }
        if (exists_nofollow(sidecar_) && !rename_noreplace(sidecar_, bs))
          throw IoError(sidecar_ + ": cannot rename it to " + bs + ": " + why());
        break;
      }
    }
    if (::rename(part_.c_str(), target_.c_str()) != 0)
      throw IoError(part_ + ": cannot rename it to " + target_ + ": " + why());
  } catch (...) {
    done();
    throw;
  }
  done();
  committed_ = true;
}

void OutputClaim::abandon() {
  if (committed_ || fd_ < 0) return;
  // Unlink while the lock is held: no other run ever sees this .part unlocked.
  struct stat a, b;
  if (::fstat(fd_, &a) == 0 && ::stat(part_.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
      a.st_dev == b.st_dev)
    ::unlink(part_.c_str());
  ::close(fd_);
  fd_ = -1;
}

void OutputClaim::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace attnflow
