#pragma once
// Comm (sim/core/comm.hpp) on an MPI communicator: what attnflow-mpi hands to the simulation.
// The only code besides sim/io's MPI build that includes <mpi.h>.
#include <mpi.h>

#include "sim/core/comm.hpp"

namespace attnflow {

class MpiComm : public Comm {
 public:
  explicit MpiComm(MPI_Comm c);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(double* v, int n) const override;
  std::int64_t max(std::int64_t v) const override;
  void gather_rows(const double* mine, Index cols, double* all, Index total) const override;
  void barrier() const override;
  void broadcast(std::string& s, int root = 0) const override;
  std::unique_ptr<Shift> shift(const double* send, Index count, double* recv,
                               Index cap) const override;
  const void* native() const override { return &comm_; }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace attnflow
