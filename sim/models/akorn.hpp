#pragma once
// AKOrN vector oscillators on S^{n-1} (formulas in sim/models/akorn.cpp; research/ssa.md 9).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/model.hpp"

namespace attnflow {

struct AkornParams {
  double K = 1.0, beta = 1.0, stimulus_scale = 1.0;
  bool attention = false;
  std::string frequencies = "zero", stimulus = "zero";
  double omega = 0.0, sigma = 1.0;
  std::vector<double> values;
};

std::unique_ptr<Flow> make_akorn(Shape shape, Space space, AkornParams p, std::uint64_t seed);

}  // namespace attnflow
