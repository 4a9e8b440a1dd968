#pragma once
// Shared machinery of the two-step SympFormer blocks (ab2, etd_ab2): the previous layer's
// oracle output (F_{k-1}, G_{k-1}) and step h_{k-1}, whether it continues the current step
// (no gap in time, same shape), and its checkpoint for `run --resume`
// ([have, h_prev, t_next, F_prev(:), G_prev(:)]). A derived block implements update().
#include <cmath>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/models/second_order.hpp"

namespace attnflow {

class TwoStepBlock : public Integrator {
 public:
  using Integrator::Integrator;
  int order() const override { return 2; }

  void step(Flow& m, State& s, double t, double h) override {
    OracleCounter oc{m, require_second_order(m, kind())};
    apply_pending(s);
    oc.call(t, s, F_, G_);
    const bool history = have_ && Fp_.rows() == F_.rows() && Fp_.cols() == F_.cols() &&
                         std::abs(t - t_next_) <= 1e-12 * (1 + std::abs(t));
    update(oc.so.damping(), s, t, h, history);
    Fp_.swap(F_);
    Gp_.swap(G_);
    have_ = true;
    h_prev_ = h;
    t_next_ = t + h;
  }

  Index checkpoint_size(const Shape& sh) const override { return 3 + 2 * sh.block(); }
  std::vector<double> save_checkpoint() const override {
    std::vector<double> c{have_ ? 1.0 : 0.0, h_prev_, t_next_};
    for (const RowMat* m : {&Fp_, &Gp_})
      for (Index k = 0; k < m->size(); ++k) c.push_back(m->data()[k]);
    return c;
  }
  void restore_checkpoint(const std::vector<double>& c) override {
    if (c.size() < 3) return;
    have_ = c[0] != 0 && c.size() > 3;
    h_prev_ = c[1];
    t_next_ = c[2];
    if (!have_ || Fp_.size() * 2 + 3 != static_cast<Index>(c.size())) {
      // Shapes are only known after the first step: keep the values until then.
      pending_.assign(c.begin(), c.end());
      return;
    }
    const Index n = Fp_.size();
    for (Index k = 0; k < n; ++k) Fp_.data()[k] = c[3 + k], Gp_.data()[k] = c[3 + n + k];
  }

 protected:
  // One layer from (F_, G_) = ORACLE(X^k, Y^k) and, when `history`, (Fp_, Gp_) of the previous
  // layer of length h_prev_.
  virtual void update(const Damping& dmp, State& s, double t, double h, bool history) = 0;

  RowMat F_, G_, Fp_, Gp_;
  double h_prev_ = 0;

 private:
  void apply_pending(const State& s) {
    if (pending_.empty()) return;
    const Index nd = s.shape.block();
    if (static_cast<Index>(pending_.size()) == 3 + 2 * nd && pending_[0] != 0) {
      Fp_.resize(s.shape.n, s.shape.d);
      Gp_.resize(s.shape.n, s.shape.d);
      for (Index k = 0; k < nd; ++k) Fp_.data()[k] = pending_[3 + k], Gp_.data()[k] = pending_[3 + nd + k];
      have_ = true;
    }
    pending_.clear();
  }
  std::vector<double> pending_;
  bool have_ = false;
  double t_next_ = 0;
};

}  // namespace attnflow
