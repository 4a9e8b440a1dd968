// Discrete transformer layers (a layer map, run with integrator.layers = L, step h = dt):
//
//   z   = LN(x)            if layernorm (per token: (z - mean) / sqrt(var + 1e-5), no affine)
//   x  <- x + h * Attn(z)  Attn = softmax (or mean) attention of model "attention", keys/values z
//   x  <- x + h * W2 gelu(W1 LN(x) + b1)     if ffn (hidden width ffn_hidden, default 4d)
//
// Without LayerNorm and FFN a layer is exactly one explicit Euler step of the attention flow
// (SympFormer section 2.1: "a transformer layer is the explicit Euler step of this ODE").
// FFN weights: i.i.d. N(0, 1/fan_in) from the seed stream "model.ffn".
#include <cmath>

#include "sim/config/matrix_param.hpp"
#include "sim/models/attention.hpp"
#include "sim/models/read_attention.hpp"
#include "sim/models/transformer.hpp"
#include "sim/kernels/nn_ops.hpp"
#include "sim/config/section.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"

namespace attnflow {
namespace {

class TransformerModel : public LayerMap {
 public:
  TransformerModel(Shape shape, Space space, TransformerParams p, std::uint64_t seed)
      : LayerMap(shape, space), p_(p), attn_(shape, Space::Euclidean, p.attn) {
    if (p_.ffn) {
      Rng rng = Rng::stream(seed, "model.ffn");
      const Index d = shape.d, hdim = p_.hidden;
      w1_.resize(hdim, d); w2_.resize(d, hdim); b1_ = Vec::Zero(hdim);
      for (Index i = 0; i < hdim; ++i)
        for (Index j = 0; j < d; ++j) w1_(i, j) = rng.normal() / std::sqrt(double(d));
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < hdim; ++j) w2_(i, j) = rng.normal() / std::sqrt(double(hdim));
    }
  }
  std::string kind() const override { return "transformer"; }
  void layer(double, double h, State& s) override {
    ++counters.oracle_calls;
    auto x = s.x();
    const CMatMap xc(s.u.data(), x.rows(), x.cols());
    if (p_.layernorm) {
      layer_norm_rows(xc, z_);
      attn_.attention(CMatMap(z_.data(), z_.rows(), z_.cols()), out_);
    } else {
      attn_.attention(xc, out_);
    }
    x += h * out_;
    if (p_.ffn) {
      if (p_.layernorm) layer_norm_rows(xc, z_); else z_ = x;
      RowMat hid = (z_ * w1_.transpose()).rowwise() + b1_.transpose();
      hid = hid.unaryExpr([](double v) { return gelu(v); });
      x += h * (hid * w2_.transpose());
    }
  }

 private:
  TransformerParams p_;
  AttentionModel attn_;
  RowMat w1_, w2_, z_, out_;
  Vec b1_;
};

}  // namespace

std::unique_ptr<LayerMap> make_transformer(Shape shape, Space space, TransformerParams p,
                                           std::uint64_t seed) {
  return std::make_unique<TransformerModel>(shape, space, std::move(p), seed);
}

namespace {

ModelRecipe read_transformer(Section& m, const TokensSpec& tokens) {
  const Index d = tokens.d;
  const AttentionSpec attn = read_attention_spec(m, d);
  TransformerParams p;
  p.layernorm = m.boolean("layernorm", false);
  p.ffn = m.boolean("ffn", false);
  p.hidden = m.positive_int("ffn_hidden", 4 * d);
  ModelRecipe r;
  r.traits.layer_map = true;
  r.traits.default_dt = 1.0;
  r.pairs_per_rhs = double(tokens.n) * double(tokens.n);
  r.build = [=](const BuildContext& c) {
    TransformerParams q = p;
    q.attn = attn.resolve(c.shape.d, c.seed);
    return make_transformer(c.shape, c.space, q, c.seed);
  };
  return r;
}

ModelDoc transformer_doc() {
  ModelDoc d;
  d.description =
      "A layer map (integrator.layers = L, step h = dt): z = LN(x) if layernorm; x <- x + h "
      "Attn(z) (the attention of model \"attention\"); x <- x + h W2 gelu(W1 LN(x) + b1) if ffn. "
      "Without LayerNorm and FFN a layer is one explicit Euler step of the attention flow. FFN "
      "weights i.i.d. N(0, 1/fan_in) (stream model.ffn).";
  d.source = "SympFormer (Stein, Li, Steidl, arXiv 2603.16535) section 2.1; " "GLPR: Geshkovski, Letrouit, Polyanskiy, Rigollet, \"A mathematical perspective on Transformers\", arXiv 2312.10794";
  d.keys = attention_key_docs();
  d.keys.push_back({"layernorm", "bool", "false", "true | false",
                    "LayerNorm (no affine, eps 1e-5) before attention and FFN"});
  d.keys.push_back({"ffn", "bool", "false", "true | false", "a GELU feed-forward block per layer"});
  d.keys.push_back({"ffn_hidden", "integer", "(4 tokens.d)", ">= 1", "hidden width of the FFN (read always)"});
  d.context = {"tokens.d = 3", "integrator.layers = 10"};
  d.notes = {"integrator.kind is ignored (one step = one layer); dt defaults to 1.0."};
  return d;
}

const bool registered = ModelRegistry::add(
    {"transformer", "discrete softmax attention layers (optional LayerNorm, FFN)",
     &read_transformer, transformer_doc()});

}  // namespace
}  // namespace attnflow
