#pragma once
// Fork/join only where it pays. attnflow parallelises with OpenMP over fixed work splits, so a
// result never depends on whether a loop forked. Two cases do not fork:
//   - too little work (the caller's `enough_work`): the fork/join costs more than the loop;
//   - already inside a parallel region (an ensemble runs one system per thread): a nested
//     region forks no threads but still costs a team set-up and futex calls, which for a
//     32-token system used to cost more than the step itself.
#include <omp.h>

namespace attnflow {

inline bool fork_threads(bool enough_work) { return enough_work && !omp_in_parallel(); }

// for (i in [0, n)) f(i), split statically over the threads when fork_threads(enough_work).
template <class I, class F>
void parallel_for(I n, bool enough_work, F&& f) {
  if (!fork_threads(enough_work)) {
    for (I i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (I i = 0; i < n; ++i) f(i);
}

}  // namespace attnflow
