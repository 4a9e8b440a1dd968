// Selective Synchronization Attention as discrete layers: the OSN block (formula, shapes and
// initialisations in sim/models/ssa.hpp; the operator in sim/ssa_operator.hpp; Hays, "Selective
// Synchronization Attention", arXiv 2602.14445; research/ssa.md). Run with integrator.layers = L
// and dt = 1 for the paper's block.
//
// [model] keys: heads (H, D = tokens.d divisible by H), init = "default" | "figure" | "osn",
// K_hat, alpha_hat (raw parameters: scalar or H-array; defaults per init), top_k (0 = dense),
// layernorm (true), ffn (true), ffn_hidden (4 D).
//
// Observables (evaluated on the input of the next block, z = LN1(x)):
//   order_parameter   mean over heads of r_h
//   ssa_<stat>        analysis/attention_stats of the un-normalised S of all heads
//   tf_<stat>         the same statistics of a random transformer layer's softmax attention
//   with <stat> in sparsity, row_entropy, cv, row_max_min, head_corr, mean_max_weight, offdiag_mean
// (these materialise N x N per head: N <= 8192).
#include "sim/models/ssa.hpp"

#include <cmath>

#include "sim/kernels/attention_stats.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"
#include "sim/kernels/ssa_operator.hpp"

namespace attnflow {

namespace {

void fill_linear(RowMat& w, Vec& b, Index out, Index in, const std::string& init, Rng& rng) {
  w.resize(out, in);
  b.resize(out);
  if (init == "osn") {
    for (Index i = 0; i < out; ++i)
      for (Index j = 0; j < in; ++j) w(i, j) = 0.02 * rng.normal();
    b.setZero();
    return;
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  for (Index i = 0; i < out; ++i)
    for (Index j = 0; j < in; ++j) w(i, j) = rng.uniform(-bound, bound);
  for (Index i = 0; i < out; ++i) b[i] = rng.uniform(-bound, bound);
}

}  // namespace

OsnBlock::OsnBlock(OsnParams params, std::uint64_t seed) : p(std::move(params)) {
  const Index D = p.D;
  Rng rng = Rng::stream(seed, "model.osn");
  fill_linear(W_omega, b_omega, D, D, p.init, rng);
  fill_linear(W_theta, b_theta, D, D, p.init, rng);
  fill_linear(W_v, b_v, D, D, p.init, rng);
  fill_linear(W_o, b_o, D, D, p.init, rng);
  if (p.ffn) {
    fill_linear(W_1, b_1, p.F, D, p.init, rng);
    fill_linear(W_2, b_2, D, p.F, p.init, rng);
  }
  Rng rb = Rng::stream(seed, "model.baseline");
  Vec bq, bk;
  fill_linear(W_q, bq, D, D, p.init, rb);
  fill_linear(W_k, bk, D, D, p.init, rb);
}

double OsnBlock::K() const { return ssa::softplus(p.K_hat); }
double OsnBlock::alpha(Index h) const { return ssa::softplus(p.alpha_hat[static_cast<std::size_t>(h)]); }

std::int64_t OsnBlock::parameter_count() const {
  const std::int64_t D = p.D, F = p.F, H = p.H;
  std::int64_t n = 4 * (D * D + D) + 1 + H;  // projections, K_hat, alpha_hat
  n += 2 * (2 * D);                          // two LayerNorms (affine)
  if (p.ffn) n += F * D + F + D * F + D;
  return n;
}

void OsnBlock::project(const RowMat& z, RowMat& om, RowMat& th, RowMat& v) const {
  om.noalias() = z * W_omega.transpose();
  om.rowwise() += b_omega.transpose();
  th.noalias() = z * W_theta.transpose();
  th.rowwise() += b_theta.transpose();
  v.noalias() = z * W_v.transpose();
  v.rowwise() += b_v.transpose();
}

void OsnBlock::ssa(const RowMat& z, RowMat& y, std::vector<double>* r) const {
  const Index n = z.rows(), D = p.D, d = D / p.H;
  RowMat om, th, v;
  project(z, om, th, v);
  RowMat o(n, D);
  if (r) r->assign(static_cast<std::size_t>(p.H), 0.0);
  for (Index h = 0; h < p.H; ++h) {
    const ssa::Head head{om.data() + h * d, th.data() + h * d, v.data() + h * d, n, d, D};
    const double rh = ssa::order_parameter(head.theta, n, d, D);
    if (r) (*r)[static_cast<std::size_t>(h)] = rh;
    ssa::head_forward(head, K() * rh, alpha(h), p.top_k, o.data() + h * d, D);
  }
  y.noalias() = o * W_o.transpose();
  y.rowwise() += b_o.transpose();
}

RowMat OsnBlock::input(const RowMat& x) const {
  if (!p.layernorm) return x;
  RowMat z;
  layer_norm_rows(x, z);
  return z;
}

void OsnBlock::forward(RowMat& x, double h) const {
  RowMat z = input(x), y;
  ssa(z, y);
  x += h * y;
  if (p.ffn) {
    z = input(x);
    RowMat hid = z * W_1.transpose();
    hid.rowwise() += b_1.transpose();
    hid = hid.unaryExpr([](double u) { return gelu(u); });
    RowMat out = hid * W_2.transpose();
    out.rowwise() += b_2.transpose();
    x += h * out;
  }
}

std::vector<RowMat> OsnBlock::sync_matrices(const RowMat& z, bool normalized,
                                            std::vector<double>* r) const {
  const Index n = z.rows(), D = p.D, d = D / p.H;
  RowMat om, th, v;
  project(z, om, th, v);
  std::vector<RowMat> out;
  if (r) r->clear();
  for (Index h = 0; h < p.H; ++h) {
    const ssa::Head head{om.data() + h * d, th.data() + h * d, v.data() + h * d, n, d, D};
    const double rh = ssa::order_parameter(head.theta, n, d, D);
    if (r) r->push_back(rh);
    out.push_back(ssa::head_matrix(head, K() * rh, alpha(h), p.top_k, normalized));
  }
  return out;
}

std::vector<RowMat> OsnBlock::baseline_attention(const RowMat& z) const {
  const Index n = z.rows(), D = p.D, d = D / p.H;
  const RowMat q = z * W_q.transpose(), k = z * W_k.transpose();
  std::vector<RowMat> out;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (Index h = 0; h < p.H; ++h) {
    RowMat s = scale * (q.middleCols(h * d, d) * k.middleCols(h * d, d).transpose());
    for (Index i = 0; i < n; ++i) {
      const double m = s.row(i).maxCoeff();
      s.row(i) = (s.row(i).array() - m).exp();
      s.row(i) /= s.row(i).sum();
    }
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

class SsaModel : public LayerMap {
 public:
  SsaModel(Shape shape, Space space, OsnParams p, std::uint64_t seed)
      : LayerMap(shape, space), block_(std::move(p), seed) {}
  std::string kind() const override { return "ssa"; }
  void layer(double, double h, State& s) override {
    ++counters.oracle_calls;
    RowMat x = s.x();
    block_.forward(x, h);
    s.x() = x;
  }
  double observable(const std::string& name, double t, ConstStateView s) override {
    if (!(t == cache_t_)) {
      cache_t_ = t;
      have_ssa_ = have_tf_ = false;
      z_ = block_.input(RowMat(s.x()));
      std::vector<double> r;
      const Index n = s.shape.n, D = block_.p.D, d = D / block_.p.H;
      RowMat th = z_ * block_.W_theta.transpose();
      th.rowwise() += block_.b_theta.transpose();
      double sum = 0;
      for (Index h = 0; h < block_.p.H; ++h) sum += ssa::order_parameter(th.data() + h * d, n, d, D);
      r_ = sum / static_cast<double>(block_.p.H);
    }
    if (name == "order_parameter") return r_;
    const bool is_ssa = name.rfind("ssa_", 0) == 0, is_tf = name.rfind("tf_", 0) == 0;
    if (!is_ssa && !is_tf) return Model::observable(name, t, s);
    if (is_ssa && !have_ssa_) {
      ssa_stats_ = attention_stats(block_.sync_matrices(z_, false));
      have_ssa_ = true;
    }
    if (is_tf && !have_tf_) {
      tf_stats_ = attention_stats(block_.baseline_attention(z_));
      have_tf_ = true;
    }
    return (is_ssa ? ssa_stats_ : tf_stats_).get(name.substr(is_ssa ? 4 : 3));
  }

 private:
  OsnBlock block_;
  double cache_t_ = std::nan("");
  RowMat z_;
  double r_ = 0;
  bool have_ssa_ = false, have_tf_ = false;
  AttentionStats ssa_stats_, tf_stats_;
};

}  // namespace

std::unique_ptr<LayerMap> make_ssa_layers(Shape shape, Space space, OsnParams p,
                                          std::uint64_t seed) {
  return std::make_unique<SsaModel>(shape, space, std::move(p), seed);
}

namespace {

ModelRecipe read_ssa(Section& m, const TokensSpec& tokens) {
  OsnParams p;
  p.D = tokens.d;
  p.H = m.positive_int("heads", 1);
  if (p.D % p.H)
    m.fail("heads", "must divide tokens.d = " + std::to_string(p.D) + " (got " +
                        std::to_string(p.H) + ")");
  p.init = m.choice("init", {"default", "figure", "osn"}, "default");
  const double k_def = p.init == "figure" ? 100.0 : 1.0;
  const double a_def = p.init == "figure" ? -5.0 : 1.0;
  p.K_hat = m.real("K_hat", k_def);
  if (m.is_array("alpha_hat")) {
    p.alpha_hat = m.reals("alpha_hat");
    if (static_cast<Index>(p.alpha_hat.size()) != p.H)
      m.fail("alpha_hat", "must have one entry per head (" + std::to_string(p.H) + ")");
  } else {
    p.alpha_hat.assign(static_cast<std::size_t>(p.H), m.real("alpha_hat", a_def));
  }
  const auto k = m.integer("top_k", 0);
  if (k < 0) m.fail("top_k", "must be >= 0 (0 = dense)");
  p.top_k = k;
  p.layernorm = m.boolean("layernorm", true);
  p.ffn = m.boolean("ffn", true);
  p.F = m.positive_int("ffn_hidden", 4 * p.D);
  if (tokens.space != Space::Euclidean)
    m.fail("kind", "\"ssa\" tokens are Euclidean (tokens.space = \"euclidean\")");
  ModelRecipe r;
  r.traits.layer_map = true;
  r.traits.default_dt = 1.0;
  r.observables = {"order_parameter"};
  // The attention statistics materialise an N x N matrix per head.
  for (const char* pre : {"ssa_", "tf_"})
    for (const auto& n : attention_stat_names()) {
      if (tokens.n <= kMaxStatTokens)
        r.observables.push_back(pre + n);
      else
        r.unavailable.push_back({pre + n, "materialises an N x N matrix per head: needs tokens.n <= " +
                                              std::to_string(kMaxStatTokens) + " (got " +
                                              std::to_string(tokens.n) + ")"});
    }
  r.pairs_per_rhs = double(tokens.n) * double(tokens.n) * double(p.H);
  r.build = [p](const BuildContext& c) { return make_ssa_layers(c.shape, c.space, p, c.seed); };
  return r;
}

ModelDoc ssa_doc() {
  ModelDoc d;
  d.description =
      "OSN blocks as a layer map (integrator.layers = L, dt = 1 for the paper's block): "
      "z = LN1(x), per head the closed-form SSA operator (Kuramoto steady state with coupling "
      "exp(-alpha (omega_i - omega_j)^2)), output projection, residual, optional FFN.";
  d.source = "SSA: Hays, \"Selective Synchronization Attention\", arXiv 2602.14445";
  const std::string src = d.source;
  d.keys = {
      {"heads", "integer", "1", ">= 1, divides tokens.d", "H", src},
      {"init", "choice", "\"default\"", "\"default\" | \"figure\" | \"osn\"",
       "initialisation of the block's weights (drawn from run.model_seed)", src},
      {"K_hat", "number", "(1.0; 100.0 for init = \"figure\")", "any", "raw coupling parameter", src},
      {"alpha_hat", "number or array", "(1.0; -5.0 for init = \"figure\")", "a number or H numbers",
       "raw selectivity parameter per head", src},
      {"top_k", "integer", "0", ">= 0 (0 = dense)", "keep the k largest couplings per row", src},
      {"layernorm", "bool", "true", "true | false", "LayerNorm before the block", src},
      {"ffn", "bool", "true", "true | false", "feed-forward block", src},
      {"ffn_hidden", "integer", "(4 tokens.d)", ">= 1", "hidden width of the FFN", src},
  };
  d.observables = {{"order_parameter", "mean over heads of the order parameter r_h", ""}};
  for (const char* pre : {"ssa_", "tf_"})
    for (const auto& n : attention_stat_names())
      d.observables.push_back(
          {pre + n, std::string(pre[0] == 's' ? "SSA's" : "a random transformer layer's") +
                        " attention matrix statistic " + n,
           "materialises an N x N matrix per head: tokens.n <= " + std::to_string(kMaxStatTokens)});
  d.context = {"tokens.d = 4", "integrator.layers = 4"};
  d.notes = {"tokens.space must be \"euclidean\". `attnflow analyze RUN.h5 --ssa` applies one "
             "block to a run's frame with the weights of the run's run.model_seed (or --seed)."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"ssa", "Selective Synchronization Attention: OSN blocks as discrete layers", &read_ssa,
     ssa_doc()});

}  // namespace
}  // namespace attnflow
