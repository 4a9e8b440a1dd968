#include "mpi/mpi_comm.hpp"

#include <climits>
#include <vector>

#include "sim/core/error.hpp"

namespace attnflow {
namespace {
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error(std::string("MPI: ") + what + " failed");
}
int as_count(Index n) {
  if (n > INT_MAX) throw Error("MPI: a message of more than 2^31 doubles");
  return static_cast<int>(n);
}
}  // namespace

MpiComm::MpiComm(MPI_Comm c) : comm_(c) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void MpiComm::sum(double* v, int n) const {
  // Every rank's partial sums, added in rank order: the same bits on every rank.
  std::vector<double> all(static_cast<std::size_t>(n) * static_cast<std::size_t>(size_));
  check(MPI_Allgather(v, n, MPI_DOUBLE, all.data(), n, MPI_DOUBLE, comm_), "Allgather");
  for (int k = 0; k < n; ++k) {
    double s = 0;
    for (int r = 0; r < size_; ++r) s += all[static_cast<std::size_t>(r) * n + k];
    v[k] = s;
  }
}

std::int64_t MpiComm::max(std::int64_t v) const {
  long long in = v, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_MAX, comm_), "Allreduce");
  return out;
}

void MpiComm::gather_rows(const double* mine, Index cols, double* all, Index total) const {
  std::vector<int> counts(static_cast<std::size_t>(size_)), displs(counts.size());
  for (int r = 0; r < size_; ++r) {
    const RowBlock b = row_block(total, r, size_);
    counts[r] = as_count(b.count * cols);
    displs[r] = as_count(b.offset * cols);
  }
  check(MPI_Allgatherv(mine, counts[rank_], MPI_DOUBLE, all, counts.data(), displs.data(),
                       MPI_DOUBLE, comm_),
        "Allgatherv");
}

void MpiComm::barrier() const { check(MPI_Barrier(comm_), "Barrier"); }

void MpiComm::broadcast(std::string& s, int root) const {
  long long n = static_cast<long long>(s.size());
  check(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm_), "Bcast");
  s.resize(static_cast<std::size_t>(n));
  if (n > 0) check(MPI_Bcast(s.data(), as_count(n), MPI_CHAR, root, comm_), "Bcast");
}

namespace {
class MpiShift : public Comm::Shift {
 public:
  MpiShift(MPI_Comm c, int rank, int size, const double* send, Index count, double* recv, Index cap) {
    const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    check(MPI_Irecv(recv, as_count(cap), MPI_DOUBLE, prev, kTag, c, &req_[0]), "Irecv");
    check(MPI_Isend(send, as_count(count), MPI_DOUBLE, next, kTag, c, &req_[1]), "Isend");
  }
  ~MpiShift() override {
    if (!done_) MPI_Waitall(2, req_, st_);
  }
  void test() override {
    int flag = 0;
    if (!done_) MPI_Testall(2, req_, &flag, st_);
    done_ = done_ || flag;
  }
  Index wait() override {
    if (!done_) check(MPI_Waitall(2, req_, st_), "Waitall");
    done_ = true;
    int n = 0;
    MPI_Get_count(&st_[0], MPI_DOUBLE, &n);
    return n;
  }

 private:
  static constexpr int kTag = 0x4174;  // "At"
  MPI_Request req_[2];
  MPI_Status st_[2];
  bool done_ = false;
};
}  // namespace

std::unique_ptr<Comm::Shift> MpiComm::shift(const double* send, Index count, double* recv,
                                            Index cap) const {
  return std::make_unique<MpiShift>(comm_, rank_, size_, send, count, recv, cap);
}

}  // namespace attnflow
