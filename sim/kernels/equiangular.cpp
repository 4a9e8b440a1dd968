#include "sim/kernels/equiangular.hpp"

#include <cmath>

namespace attnflow {

std::vector<double> equiangular_gamma(const std::vector<double>& times, double t0, Index n,
                                      double beta, bool softmax) {
  const double nn = static_cast<double>(n);
  auto f = [&](double g) {
    const double core = std::exp(beta * g) * (1 - g) * ((nn - 1) * g + 1);
    return softmax ? 2 * core / (std::exp(beta) + (nn - 1) * std::exp(beta * g)) : 2 / nn * core;
  };
  std::vector<double> out;
  double t = t0, g = 0;
  const double hmax = 1e-3;
  for (double tk : times) {
    while (tk - t > 1e-15) {
      const double h = std::min(hmax, tk - t);
      const double k1 = f(g), k2 = f(g + h / 2 * k1), k3 = f(g + h / 2 * k2), k4 = f(g + h * k3);
      g += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
      t += h;
    }
    t = tk;
    out.push_back(g);
  }
  return out;
}

}  // namespace attnflow
