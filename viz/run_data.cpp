// The renderer's view of a run, over sim/io's reader; see run_data.hpp.
#include "viz/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "sim/core/error.hpp"
#include "sim/io/h5md_layout.hpp"

namespace attnflow::viz {

Run::Run(const std::string& path)
    : reader_(std::make_unique<H5mdReader>(path)), path_(path) {
  const H5mdReader& r = *reader_;
  const RunMetadata& m = r.metadata();
  name_ = m.name.empty() ? std::filesystem::path(path).stem().string() : m.name;
  space_ = m.space;
  d_ = m.d > 0 ? static_cast<int>(m.d) : static_cast<int>(r.dim());

  // The trajectory: tokens_view, else the full positions; [T][N][D] either way. A density run
  // has none: its positions are a hard link to /fields/density/value.
  density_ = r.has_density_field();
  view_ds_ = r.has_view();
  if (!density_ && (view_ds_ || r.has_positions())) {
    const char* ds = view_ds_ ? h5md::kViewValue : h5md::kPositionValue;
    if (r.shape(ds).size() != 3) throw IoError(path + ": " + ds + " must be [T][N][D]");
    T_ = static_cast<std::size_t>(r.frames());
    N_ = static_cast<std::size_t>(r.tokens());
  }
  time_ = r.times();
  const auto steps = r.steps();
  step_.assign(steps.begin(), steps.end());

  // Observables: scalar series only.
  for (const auto& name : r.observable_names()) {
    try {
      observables_[name] = r.observable(name);
    } catch (const ConfigError&) {  // not a scalar series: nothing to plot
    }
  }

  // Fits from `attnflow analyze`.
  for (const auto& [name, f] : r.fits()) {
    Fit fit;
    fit.rate = f.rate;
    fit.t0 = std::isnan(f.t0) ? (time_.empty() ? 0.0 : time_.front()) : f.t0;
    fit.t1 = std::isnan(f.t1) ? (time_.empty() ? 1.0 : time_.back()) : f.t1;
    fit.amplitude = !std::isnan(f.amplitude) ? f.amplitude
                                             : std::exp(std::isnan(f.intercept) ? 0.0 : f.intercept);
    fits_[name] = fit;
  }
}

const std::vector<double>& Run::view_positions() {
  if (view_) return *view_;
  if (T_ == 0) throw ConfigError(path_ + ": no trajectory (" + h5md::kViewValue + ")");
  const TokenSeries raw = reader_->token_series(view_ds_ ? "view" : "position");
  const std::size_t cols = raw.components, c = std::min<std::size_t>(cols, 3);
  std::vector<double> out(T_ * N_ * 3, 0.0);
  for (std::size_t p = 0; p < T_ * N_; ++p)
    for (std::size_t k = 0; k < c; ++k) out[p * 3 + k] = raw.data[p * cols + k];
  for (double x : out)
    if (!std::isfinite(x)) throw NumericalError(path_ + ": trajectory contains NaN or Inf");
  view_ = std::move(out);
  return *view_;
}

std::vector<double> Run::token_scalar(const std::string& quantity) {
  std::vector<double> out(T_ * N_, 0.0);
  auto norm_rows = [&](const TokenSeries& s) {
    for (std::size_t p = 0; p < T_ * N_; ++p) {
      double sum = 0;
      for (std::size_t k = 0; k < s.components; ++k) sum += s.data[p * s.components + k] * s.data[p * s.components + k];
      out[p] = std::sqrt(sum);
    }
  };
  if (quantity == "index") {
    for (std::size_t t = 0; t < T_; ++t)
      for (std::size_t i = 0; i < N_; ++i) out[t * N_ + i] = static_cast<double>(i);
    return out;
  }
  if (quantity == "speed") {
    if (reader_->has_momentum()) {
      norm_rows(reader_->token_series("momentum"));
      return out;
    }
    std::vector<double> x;
    std::size_t cols = 3;
    if (reader_->has_positions()) {
      TokenSeries p = reader_->token_series("position");
      cols = p.components;
      x = std::move(p.data);
    } else {
      x = view_positions();
    }
    if (T_ < 2) return out;
    for (std::size_t t = 0; t < T_; ++t) {
      const std::size_t a = t == 0 ? 0 : t - 1, b = t == 0 ? 1 : t;
      double dt = time_[b] - time_[a];
      if (dt == 0) dt = 1;
      for (std::size_t i = 0; i < N_; ++i) {
        double s = 0;
        for (std::size_t k = 0; k < cols; ++k) {
          const double dx = x[(b * N_ + i) * cols + k] - x[(a * N_ + i) * cols + k];
          s += dx * dx;
        }
        out[t * N_ + i] = std::sqrt(s) / std::abs(dt);
      }
    }
    return out;
  }
  const TokenSeries s = reader_->token_series(quantity);
  if (s.components == 1 || quantity == "phase") {
    for (std::size_t p = 0; p < T_ * N_; ++p) out[p] = s.data[p * s.components];
  } else {
    norm_rows(s);
  }
  return out;
}

bool Run::has_token_scalar(const std::string& quantity) const {
  if (quantity == "index" || quantity == "speed") return true;
  return quantity != "view" && reader_->has_token_series(quantity);
}

bool Run::has_angles() const {
  if (reader_->has_token_series("phase")) return true;
  return reader_->has_token_series("position") && reader_->shape(h5md::kPositionValue).size() == 3 &&
         reader_->shape(h5md::kPositionValue)[2] == 2;
}

std::vector<double> Run::angles() const {
  const bool phase = reader_->has_token_series("phase");
  if (!phase && !has_angles())
    throw ConfigError(path_ + ": no token angles (neither " + h5md::kPhaseValue + " nor d = 2 positions)");
  const TokenSeries s = reader_->token_series(phase ? "phase" : "position");
  const double two_pi = 2 * std::numbers::pi;
  std::vector<double> out(s.frames * s.tokens);
  for (std::size_t p = 0; p < out.size(); ++p) {
    const double* x = &s.data[p * s.components];
    double a = phase ? std::fmod(x[0], two_pi) : std::atan2(x[1], x[0]);
    if (a < 0) a += two_pi;
    out[p] = a >= two_pi ? 0.0 : a;  // a tiny negative angle + 2 pi can round to 2 pi; NaN stays
  }
  return out;
}

}  // namespace attnflow::viz
