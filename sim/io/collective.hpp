#pragma once
// Errors of a distributed run (attnflow-mpi) reach every rank. When one rank fails alone (rank 0
// creating the output, a lock another run holds) and the others go on to the next collective
// call, they wait for it forever; so what may fail on some ranks only runs inside one of these,
// and every rank then throws the same error (same Error subclass, same message, so the same
// exit code everywhere). Serial (comm null): f() as it is.
#include <functional>

#include "sim/core/comm.hpp"

namespace attnflow {

// f() on rank 0 only (filesystem side effects: the output claim, its commit, backups, the
// sidecar); its error is thrown on every rank. A broadcast: the other ranks wait for rank 0.
void on_root(const Comm* comm, const std::function<void()>& f);

// f() on every rank; if it throws on any, every rank throws the error of the lowest rank that
// failed.
void on_all(const Comm* comm, const std::function<void()>& f);

}  // namespace attnflow
