// Poly-attention (Chakrabarti, Pitassi, Alman, "Poly-attention: a general scheme for
// higher-order self-attention", arXiv 2602.02422; research note polyattention.md 1-4, 7).
//
// An attention polynomial h(x1..xt) (text, e.g. "x1*x2 + x2*x3"; multilinear, 0/1 coefficients,
// degree >= 2) with one projection Q^{(j)} = X WQ_j^T (n x dk) per variable and one value
// V^{(j)} = X WV_j^T (n x dv, j >= 2) per non-query variable defines, for every token l1,
//
//   Att_{l1} = sum_{l2..lt} exp(beta h(Q1_{l1}, ..., Qt_{lt})) V2_{l2} (.) ... (.) Vt_{lt} / Z_{l1}
//   (softmax over all (t-1)-tuples with repetition; "mean" divides by n^{t-1} instead of Z).
//
// X is N x D. As a flow (mode = "flow", note 7): x_i' = Att_i (on the sphere projected by
// P_perp(x_i)); as blocks (mode = "layers", integrator.layers = L): x <- x + h Att(x).
// Algorithms (sim/poly_algorithms.hpp): naive (any h, O(n^t)), strassen (cycles, O(n^3) by
// GEMM), tree (forests, O(s n^2) streamed message passing), polynomial (Taylor features,
// approximate; observable approx_error = max |approx - exact| on the current state).
//
// Observables: energy (h = x1...xt with Q = V = identity, beta > 0: the t-body energy
// E = 1/(t beta N^t) sum_{a1..at} exp(beta <x_a1, ..., x_at>); its gradient in x_i is
// sum exp(..) (.)_{others} x, so the flow ascends it, note 7); task_accuracy and task_margin in
// task mode (sim/poly_tasks.hpp: the tokens hold `instances` independent sequences, the layer
// writes each read-out into the last embedding column, accuracy = fraction of instances whose
// read-out equals the target).
// Random projections: i.i.d. N(0, 1/D) entries from streams "model.Q<j>" and "model.V<j>".
#include <cmath>
#include <limits>

#include "sim/models/poly_attention.hpp"

#include "sim/core/interrupt.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"

namespace attnflow {
namespace {

// What the flow and the layer map share: projections, the attention pass, observables.
template <class Base>
class PolyAttentionModel : public Base {
 protected:
  using Base::counters;
  using Base::shape_;
  using Base::space_;

 public:
  PolyAttentionModel(Shape shape, Space space, PolyParams p, std::uint64_t seed)
      : Base(shape, space), p_(std::move(p)), seed_(seed) {
    const int t = p_.h.t;
    const Index D = shape.d;
    if (task()) {
      const PolyTaskWeights w = poly_task_weights(p_.task, p_.task.lambda);
      wq_ = w.WQ;
      wv_ = w.WV;
      block_ = poly_task_tokens(p_.task);
    } else {
      block_ = shape.n;
      for (int j = 0; j < t; ++j) {
        wq_.push_back(projection(p_.Q, "model.Q" + std::to_string(j + 1), D));
        wv_.push_back(projection(p_.V, "model.V" + std::to_string(j + 1), D));
      }
    }
  }

  std::string kind() const override { return "poly_attention"; }

  double observable(const std::string& name, double t, ConstStateView s) override {
    const auto x = s.x();
    if (name == "energy" && energy_exists()) {
      Vec logz;
      attention(x, PolyAlgorithm::Auto, tmp_, &logz);
      const double n = static_cast<double>(x.rows()), tt = p_.h.t;
      double sum = 0;
      for (Index i = 0; i < logz.size(); ++i) sum += std::exp(logz[i] - tt * std::log(n));
      return sum / (tt * p_.beta);
    }
    if (name == "approx_error" && p_.algorithm == PolyAlgorithm::Polynomial) {
      RowMat exact;
      attention(x, PolyAlgorithm::Auto, exact, nullptr);
      attention(x, PolyAlgorithm::Polynomial, tmp_, nullptr);
      return (tmp_ - exact).cwiseAbs().maxCoeff();
    }
    if (task() && (name == "task_accuracy" || name == "task_margin")) {
      const Index N = block_, D = shape_.d;
      int correct = 0;
      double margin = std::numeric_limits<double>::infinity();
      if (name == "task_margin") attention(x, p_.algorithm, tmp_, nullptr);
      for (int k = 0; k < p_.task.instances; ++k) {
        const RowMat xi = x.middleRows(k * N, N);
        if (name == "task_margin") {
          const PolyTaskReadout r =
              poly_task_readout(p_.task, xi, RowMat(tmp_.middleRows(k * N, N)));
          margin = std::min(margin, r.margin.minCoeff());
          continue;
        }
        const Vec truth = poly_task_truth(p_.task, xi);
        bool ok = true;
        for (Index i = 0; i < N; ++i)
          if (truth[i] >= 0 && std::lround(xi(i, D - 1)) != std::lround(truth[i])) ok = false;
        correct += ok;
      }
      return name == "task_margin" ? margin : double(correct) / p_.task.instances;
    }
    return Base::observable(name, t, s);
  }

  void initialize(State& s, std::uint64_t seed) override {
    if (task()) poly_task_encode(p_.task, seed, s.x());
  }

  // Att(x) with algorithm a, block by block (task instances are independent sequences).
  void attention(CMatMap x, PolyAlgorithm a, RowMat& out, Vec* logz) {
    const int t = p_.h.t;
    const Index n = x.rows(), blocks = n / block_;
    const Index dv = wv_[t > 1 ? 1 : 0].rows();
    out.resize(n, dv);
    if (logz) logz->resize(n);
    PolyInput in;
    in.beta = p_.beta;
    in.q.resize(t);
    in.v.resize(t);
    RowMat ob;
    Vec lb;
    for (Index b = 0; b < blocks; ++b) {
      const auto xb = x.middleRows(b * block_, block_);
      for (int j = 0; j < t; ++j) {
        in.q[j].noalias() = xb * wq_[j].transpose();
        if (j > 0) in.v[j].noalias() = xb * wv_[j].transpose();
      }
      const bool need_lz = logz || p_.mean;
      poly_attention(p_.h, a, in, ob, need_lz ? &lb : nullptr, p_.degree);
      check_interrupt();  // between task instances / blocks
      if (p_.mean) {  // USA: divide by n^{t-1} instead of Z
        const double lnn = (t - 1) * std::log(double(block_));
        for (Index i = 0; i < block_; ++i) ob.row(i) *= std::exp(lb[i] - lnn);
      }
      out.middleRows(b * block_, block_) = ob;
      if (logz) logz->segment(b * block_, block_) = lb;
    }
  }

 protected:
  bool task() const { return p_.task.kind != PolyTaskKind::None; }
  bool energy_exists() const { return poly_energy_exists(p_); }
  RowMat projection(const std::string& kind, const std::string& stream, Index D) const {
    if (kind == "identity") return RowMat::Identity(D, D);
    Rng rng = Rng::stream(seed_, stream);
    RowMat w(D, D);
    for (Index i = 0; i < D; ++i)
      for (Index j = 0; j < D; ++j) w(i, j) = rng.normal() / std::sqrt(double(D));
    return w;
  }
  void write_answers(State& s) {
    const Index N = block_, D = shape_.d;
    auto x = s.x();
    for (int k = 0; k < p_.task.instances; ++k) {
      const RowMat xi = x.middleRows(k * N, N);
      const PolyTaskReadout r = poly_task_readout(p_.task, xi, RowMat(out_.middleRows(k * N, N)));
      for (Index i = 0; i < N; ++i) x(k * N + i, D - 1) = r.answer[i];
    }
  }

  PolyParams p_;
  std::uint64_t seed_;
  Index block_ = 0;
  std::vector<RowMat> wq_, wv_;
  RowMat out_, tmp_;
};

// As a flow: x_i' = Att_i (projected on the sphere).
class PolyFlow final : public PolyAttentionModel<Flow> {
 public:
  using PolyAttentionModel::PolyAttentionModel;
  int oracle_calls_per_rhs() const override { return poly_oracle_passes(p_.h, p_.algorithm); }
  void rhs(double, ConstStateView s, StateView ds) override {
    attention(s.x(), p_.algorithm, out_, nullptr);
    auto dx = ds.x();
    dx = out_;
    if (space_ == Space::Sphere) project_tangent(s.x(), dx);
  }
};

// As blocks: x <- x + h Att(x); in task mode the block writes each instance's read-out.
class PolyLayers final : public PolyAttentionModel<LayerMap> {
 public:
  using PolyAttentionModel::PolyAttentionModel;
  void layer(double, double h, State& s) override {
    counters.oracle_calls += poly_oracle_passes(p_.h, p_.algorithm);
    const CMatMap xc(s.u.data(), shape_.n, shape_.d);
    attention(xc, p_.algorithm, out_, nullptr);
    if (task()) {
      write_answers(s);
      return;
    }
    RowMat dx = out_;
    if (space_ == Space::Sphere) project_tangent(xc, MatMap(dx.data(), dx.rows(), dx.cols()));
    s.x() += h * dx;
  }
};

}  // namespace

bool poly_energy_exists(const PolyParams& p) {
  return p.task.kind == PolyTaskKind::None && p.h.is_tensor() && p.Q == "identity" &&
         p.V == "identity" && p.beta > 0;
}

std::unique_ptr<Model> make_poly_attention(Shape shape, Space space, PolyParams p,
                                           std::uint64_t seed) {
  if (p.layers || p.task.kind != PolyTaskKind::None)
    return std::make_unique<PolyLayers>(shape, space, std::move(p), seed);
  return std::make_unique<PolyFlow>(shape, space, std::move(p), seed);
}

namespace {

ModelRecipe read_poly_attention(Section& m, const TokensSpec& tokens) {
  PolyParams p;
  const std::string task = m.choice("task", {"none", "function_composition", "match3"}, "none");
  if (task != "none") {
    PolyTaskSpec& ts = p.task;
    ts.kind = task == "match3" ? PolyTaskKind::Match3 : PolyTaskKind::FunctionComposition;
    ts.mechanism = m.choice("mechanism", {"tree", "strassen", "tensor"},
                            task == "match3" ? "tensor" : "tree");
    if (ts.kind == PolyTaskKind::FunctionComposition) {
      ts.r = static_cast<int>(m.positive_int("r", 2));
      m.check(ts.r <= 8, "r", "must be <= 8 (got " + std::to_string(ts.r) + ")");
      const int def_m[] = {0, 6, 5, 4, 3};
      ts.m = static_cast<int>(m.positive_int("m", ts.r <= 4 ? def_m[ts.r] : 3));
      m.check(ts.m >= 2 && ts.m <= 1000, "m", "must be in [2, 1000] (got " + std::to_string(ts.m) + ")");
    } else {
      ts.length = static_cast<int>(m.positive_int("length", 6));
      if (ts.mechanism == "tensor") {
        ts.modulus = static_cast<int>(m.positive_int("modulus", 7));
        m.check(ts.modulus >= 3, "modulus", "must be >= 3");
      } else {
        ts.range = static_cast<int>(m.positive_int("range", 4));
      }
    }
    const std::string why = poly_task_unsupported(ts);
    if (!why.empty()) m.fail("mechanism", why);
    ts.instances = static_cast<int>(m.positive_int("instances", 20));
    ts.lambda = m.positive("lambda", poly_task_default_lambda(ts));
    m.check(!m.has("h"), "h", "is set by the task and mechanism (here " +
                                  poly_task_polynomial(ts).str() + "); remove it");
    p.h = poly_task_polynomial(ts);
    const Index N = poly_task_tokens(ts), D = poly_task_dim(ts);
    if (tokens.n != ts.instances * N || tokens.d != D)
      m.fail("task", "= \"" + task + "\" (" + ts.mechanism + ") with " +
                         std::to_string(ts.instances) + " instances of " + std::to_string(N) +
                         " tokens needs tokens.n = " + std::to_string(ts.instances * N) +
                         " and tokens.d = " + std::to_string(D) + " (got n = " +
                         std::to_string(tokens.n) + ", d = " + std::to_string(tokens.d) +
                         "); the model writes the token encodings itself (tokens.init is ignored)");
    if (tokens.space != Space::Euclidean)
      m.fail("task", "task tokens are feature vectors: use tokens.space = \"euclidean\"");
    p.layers = true;
  } else {
    const std::string text = m.string("h");
    try {
      p.h = parse_polynomial(text);
    } catch (const PolyParseError& e) {
      m.fail("h", "= \"" + text + "\" is not a valid attention polynomial" +
                      (e.column ? " (character " + std::to_string(e.column) + ")" : std::string()) +
                      ": " + e.message);
    }
    p.Q = m.choice("Q", {"identity", "random"}, "identity");
    p.V = m.choice("V", {"identity", "random"}, "identity");
    p.layers = m.choice("mode", {"flow", "layers"}, "flow") == "layers";
    p.mean = m.choice("normalization", {"softmax", "mean"}, "softmax") == "mean";
  }
  p.beta = m.non_negative("beta", 1.0);
  const std::string algo =
      m.choice("algorithm", {"auto", "naive", "strassen", "tree", "polynomial"}, "auto");
  p.algorithm = parse_poly_algorithm(algo);
  const std::string why = poly_algorithm_unsupported(p.h, p.algorithm);
  if (!why.empty()) m.fail("algorithm", why);
  if (p.algorithm == PolyAlgorithm::Auto) p.algorithm = auto_poly_algorithm(p.h);
  if (p.algorithm == PolyAlgorithm::Polynomial) {
    p.degree = static_cast<int>(m.positive_int("degree", 4));
    m.check(p.degree <= 12, "degree", "must be <= 12");
  }
  ModelRecipe r;
  r.traits.layer_map = p.layers || p.task.kind != PolyTaskKind::None;
  if (poly_energy_exists(p))
    r.observables.push_back("energy");
  else
    r.unavailable.push_back({"energy", "needs a tensor polynomial h = x1*...*xt with Q = V = "
                                       "\"identity\" and beta > 0 (no task)"});
  if (p.task.kind != PolyTaskKind::None) {
    r.observables.push_back("task_accuracy");
    r.observables.push_back("task_margin");
  } else {
    r.unavailable.push_back({"task_accuracy", "needs a task"});
    r.unavailable.push_back({"task_margin", "needs a task"});
  }
  if (p.algorithm == PolyAlgorithm::Polynomial)
    r.observables.push_back("approx_error");
  else
    r.unavailable.push_back({"approx_error", "needs algorithm = \"polynomial\""});
  r.pairs_per_rhs = poly_cost(p.h, p.algorithm, double(tokens.n));
  r.build = [p](const BuildContext& c) { return make_poly_attention(c.shape, c.space, p, c.seed); };
  return r;
}

ModelDoc poly_attention_doc() {
  ModelDoc d;
  d.description =
      "For an attention polynomial h(x1..xt) (multilinear, 0/1 coefficients, degree >= 2): "
      "Att_l1 = sum_{l2..lt} exp(beta h(Q1_l1, ..., Qt_lt)) V2_l2 (.) ... (.) Vt_lt / Z_l1 "
      "(\"mean\": / n^{t-1}). mode = \"flow\": x_i' = Att_i (projected on the sphere); "
      "\"layers\": x <- x + dt Att(x). Task mode (task = function_composition | match3): the "
      "model writes `instances` independent polyadic task sequences into the tokens and runs "
      "layers.";
  d.source = "Chakrabarti, Pitassi, Alman, \"Poly-attention\", arXiv 2602.02422";
  const std::string src = d.source;
  const std::string no_task = "task = \"none\"";
  d.keys = {
      {"task", "choice", "\"none\"", "\"none\" | \"function_composition\" | \"match3\"",
       "a polyadic task (sets h, tokens and layers itself; then h, Q, V, mode and normalization "
       "are rejected)", src},
      {"mechanism", "choice", "(\"tree\"; \"tensor\" for match3)", "\"tree\" | \"strassen\" | \"tensor\"",
       "the poly-attention that solves the task", src, "a task"},
      {"r", "integer", "2", "1 .. 8", "composition depth", src, "task = \"function_composition\""},
      {"m", "integer", "(6, 5, 4, 3 for r = 1..4; else 3)", "2 .. 1000", "domain size", src,
       "task = \"function_composition\""},
      {"length", "integer", "6", ">= 1", "sequence length", src, "task = \"match3\""},
      {"modulus", "integer", "7", ">= 3", "modulus of the match", src,
       "task = \"match3\", mechanism = \"tensor\""},
      {"range", "integer", "4", ">= 1", "value range", src, "task = \"match3\", mechanism is not \"tensor\""},
      {"instances", "integer", "20", ">= 1",
       "independent task instances (tokens.n = instances x tokens per instance)", src, "a task"},
      {"lambda", "number", "(depends on the task)", "> 0", "scale of the task encodings", src, "a task"},
      {"h", "string", "", "a polynomial in x1..xt, e.g. \"x1*x2 + x2*x3\"",
       "the attention polynomial (required without a task, rejected with one)", src, "",
       "\"x1*x2*x3\""},
      {"Q", "choice", "\"identity\"", "\"identity\" | \"random\"",
       "projections Q^(j) (random: i.i.d. N(0, 1/D), streams model.Q<j>)", src, no_task},
      {"V", "choice", "\"identity\"", "\"identity\" | \"random\"",
       "values V^(j) (random: N(0, 1/D), streams model.V<j>)", src, no_task},
      {"mode", "choice", "\"flow\"", "\"flow\" | \"layers\"", "an ODE, or discrete layers (integrator.layers)",
       src, no_task},
      {"normalization", "choice", "\"softmax\"", "\"softmax\" | \"mean\"", "divide by Z_l1 or n^{t-1}",
       src, no_task},
      {"beta", "number", "1.0", ">= 0", "inverse temperature", src},
      {"algorithm", "choice", "\"auto\"", "\"auto\" | \"naive\" | \"strassen\" | \"tree\" | \"polynomial\"",
       "naive any h O(n^t); strassen cycles O(n^3) by GEMM; tree forests O(s n^2) streamed; "
       "polynomial Taylor features (approximate); auto picks the fastest exact one", src},
      {"degree", "integer", "4", "1 .. 12", "Taylor degree", src, "algorithm = \"polynomial\""},
  };
  d.observables = {
      {"energy", "E = 1/(t beta N^t) sum exp(beta <x_a1, ..., x_at>) (the flow ascends it)",
       "a tensor polynomial h = x1*...*xt with Q = V = \"identity\" and beta > 0 (no task)"},
      {"task_accuracy", "fraction of instances whose read-out equals the target", "a task"},
      {"task_margin", "margin of the read-out", "a task"},
      {"approx_error", "max |approx - exact| on the current state", "algorithm = \"polynomial\""},
  };
  d.context = {"tokens.space = \"sphere\"", "tokens.d = 3", "tokens.n = 16"};
  d.notes = {"Task mode: omit h (and Q, V, mode, normalization); tokens.n = instances x tokens "
             "per instance and tokens.d as the error message states; 20 instances by default."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"poly_attention",
     "poly-attention over an attention polynomial h (tensor, Strassen, tree); flow or layers; "
     "polyadic tasks",
     &read_poly_attention, poly_attention_doc()});

}  // namespace
}  // namespace attnflow
