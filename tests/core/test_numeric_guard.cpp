#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>

#include "core/numeric_guard.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "layers/gnn.hpp"

using namespace locus;

namespace {

template <class T>
using M = MatT<T>;

// Test-only ops: an element-wise log (NaN for negative entries) and an identity whose backward
// writes NaN into its input's gradient.
template <class T>
Var log_op(Tape<T>& t, Var x) {
  M<T> out = t.value(x).array().log();
  return t.push(std::move(out), "log", {x}, [x](Tape<T>& t, Var self) {
    if (t.requires_grad(x)) t.grad(x).array() += t.grad(self).array() / t.value(x).array();
  });
}
template <class T>
Var nan_backward(Tape<T>& t, Var x) {
  M<T> out = t.value(x);
  return t.push(std::move(out), "nan_backward", {x}, [x](Tape<T>& t, Var self) {
    if (t.requires_grad(x)) t.grad(x).array() += t.grad(self).array() * std::numeric_limits<T>::quiet_NaN();
  });
}

template <class F>
NumericFault expect_fault(F&& f) {
  try {
    f();
  } catch (const NumericFault& e) {
    return e;
  }
  FAIL("no NumericFault thrown");
  return NumericFault("", 0, "", "", "", "");
}

// A two-layer toy model: layer 1 = x·W + b, layer 2 = `mid` (an op under test) then a weighted
// sum as the loss. x is a constant [2, 2] input.
template <class T>
struct Toy {
  Rng rng{1};
  ParamStore<T> store;
  ParamId w, b;
  M<T> x{2, 2};
  Toy() {
    w = store.add("layer1.weight", 2, 2, Init::Ones, rng);
    b = store.add("layer1.bias", 1, 2, Init::Zeros, rng);
    x << 1, 2, 3, 4;
  }
  template <class Mid>
  Var forward(Tape<T>& t, Mid mid) {
    Var h;
    {
      auto scope = t.scope("layer 1 (linear)");
      h = ops::add_bias(t, ops::matmul(t, t.view(x), t.param(store, w)), t.param(store, b));
    }
    {
      auto scope = t.scope("layer 2 (test)");
      h = mid(t, h);
    }
    auto scope = t.scope("loss");
    return ops::weighted_sum(t, h, M<T>::Ones(2, 2).eval());
  }
};

Csr ring(int n) {
  std::vector<int32_t> src, dst;
  for (int i = 0; i < n; ++i) {
    src.insert(src.end(), {i, (i + 1) % n});
    dst.insert(dst.end(), {(i + 1) % n, i});
  }
  return Csr::from_edges(n, src, dst);
}

}  // namespace

TEST_CASE("Tape scopes: nested paths, restored on exit, interned across clear()") {
  Tape<double> t;
  Var a = t.constant(M<double>::Ones(1, 1));
  Var b, c, d;
  {
    auto s1 = t.scope("layer 1 (gat)");
    b = t.constant(M<double>::Ones(1, 1));
    {
      auto s2 = t.scope("attention");
      c = t.constant(M<double>::Ones(1, 1));
    }
    d = t.constant(M<double>::Ones(1, 1));
  }
  Var e = t.constant(M<double>::Ones(1, 1));
  CHECK(t.scope_of(a) == "");
  CHECK(t.scope_of(b) == "layer 1 (gat)");
  CHECK(t.scope_of(c) == "layer 1 (gat)/attention");
  CHECK(t.scope_of(d) == "layer 1 (gat)");
  CHECK(t.scope_of(e) == "");
  const std::string* interned = &t.scope_of(c);
  t.clear();
  Var f;
  {
    auto s1 = t.scope("layer 1 (gat)");
    auto s2 = t.scope("attention");
    f = t.constant(M<double>::Ones(1, 1));
  }
  CHECK(t.scope_of(f) == "layer 1 (gat)/attention");
  CHECK(&t.scope_of(f) == interned);  // the same table entry: nothing new allocated
  auto moved = [&] { return t.scope("moved"); }();
  CHECK(t.scope_of(t.constant(M<double>::Ones(1, 1))) == "moved");
}

TEST_CASE("check_loss: the first non-finite forward value is named (a log of a negative number)") {
  Toy<double> m;
  m.store.value(m.b) << 0, -10;  // column 1 of x·W + b: 3 - 10 < 0 and 7 - 10 < 0 → log gives NaN
  for (int epoch = 1; epoch <= 3; ++epoch) {
    Tape<double> t;
    if (epoch == 3) m.store.value(m.b) << 0, -10;
    else m.store.value(m.b) << 0, 0;
    Var loss = m.forward(t, [](Tape<double>& t, Var h) { return log_op(t, h); });
    if (epoch < 3) {
      check_loss(t, loss, m.store, epoch);
      continue;
    }
    const NumericFault f = expect_fault([&] { check_loss(t, loss, m.store, epoch); });
    CHECK(std::string(f.what()) ==
          "epoch 3: the loss is nan; first non-finite value produced by op 'log' in layer 'layer 2 (test)'; lower "
          "optim.base_lr or set optim.clip_grad_norm");
    CHECK(f.epoch == 3);
    CHECK(f.kind == "loss");
    CHECK(f.op == "log");
    CHECK(f.layer == "layer 2 (test)");
    CHECK(f.param == "");
  }
}

TEST_CASE("check_loss: an Inf in the input and a NaN parameter are told apart") {
  Toy<float> m;
  SUBCASE("input") {
    m.x(1, 0) = std::numeric_limits<float>::infinity();
    Tape<float> t;
    Var loss = m.forward(t, [](Tape<float>&, Var h) { return h; });
    const NumericFault f = expect_fault([&] { check_loss(t, loss, m.store, 5, 2); });
    CHECK(std::string(f.what()) ==
          "run 2 epoch 5: the loss is inf; first non-finite value produced by op 'view' in layer 'layer 1 (linear)'; "
          "the input holds NaN or Inf values: check the dataset's features");
    CHECK(f.op == "view");
  }
  SUBCASE("parameter") {
    m.store.value(m.b)(0, 1) = std::numeric_limits<float>::quiet_NaN();
    Tape<float> t;
    Var loss = m.forward(t, [](Tape<float>&, Var h) { return h; });
    const NumericFault f = expect_fault([&] { check_loss(t, loss, m.store, 1); });
    CHECK(std::string(f.what()) ==
          "epoch 1: the loss is nan; parameter 'layer1.bias' (in layer 'layer 1 (linear)') already holds non-finite "
          "values; it was loaded or initialised so, or diverged in an earlier step: lower optim.base_lr or set "
          "optim.clip_grad_norm");
    CHECK(f.param == "layer1.bias");
    CHECK(f.op == "param");
    CHECK(f.layer == "layer 1 (linear)");
  }
}

TEST_CASE("check_gradients: names the parameter and the op whose backward made the first NaN") {
  Toy<double> m;
  Tape<double> t;
  // h feeds two consumers: nan_backward (recorded first) and relu (recorded later, so its
  // backward runs first). Both leave h's gradient NaN in the end, but only nan_backward made it.
  Var loss = m.forward(t, [](Tape<double>& t, Var h) {
    Var bad = nan_backward(t, h);
    return ops::add(t, bad, ops::relu(t, h));
  });
  check_loss(t, loss, m.store, 4);  // the forward is finite
  t.backward(loss);
  const std::vector<double> grads(m.store.grads().begin(), m.store.grads().end());
  const NumericFault f = expect_fault([&] { check_gradients(t, loss, m.store, 4); });
  CHECK(std::string(f.what()) ==
        "epoch 4: the gradient of parameter 'layer1.weight' is nan; the first non-finite gradient came from the "
        "backward of op 'nan_backward' in layer 'layer 2 (test)'; lower optim.base_lr or set optim.clip_grad_norm");
  CHECK(f.kind == "gradient");
  CHECK(f.op == "nan_backward");
  CHECK(f.layer == "layer 2 (test)");
  CHECK(f.param == "layer1.weight");
  // The diagnosis leaves the store's gradients as backward left them (bit for bit, NaNs included).
  REQUIRE(grads.size() == m.store.grads().size());
  CHECK(std::memcmp(grads.data(), m.store.grads().data(), grads.size() * sizeof(double)) == 0);
}

TEST_CASE("check_gradients: a NaN already in the gradient buffer is blamed on no op") {
  Toy<float> m;
  Tape<float> t;
  Var loss = m.forward(t, [](Tape<float>&, Var h) { return h; });
  m.store.grad(m.b)(0, 0) = std::numeric_limits<float>::quiet_NaN();  // no zero_grad()
  t.backward(loss);
  const NumericFault f = expect_fault([&] { check_gradients(t, loss, m.store, 2); });
  CHECK(f.param == "layer1.bias");
  CHECK(f.op == "");
  CHECK(std::string(f.what()).find("held it before backward") != std::string::npos);
}

TEST_CASE("check_parameters: a parameter overflowing in the optimizer step is named with its layer") {
  Toy<double> m;
  Optimizer<double> sgd({OptimKind::Sgd, 1e308, 0.0});
  Tape<double> t;
  Var loss = m.forward(t, [](Tape<double>&, Var h) { return h; });
  t.backward(loss);  // d loss / d b = [2, 2]: the step b ← b − 1e308·2 overflows to −inf
  check_gradients(t, loss, m.store, 7);
  sgd.step(m.store);
  const NumericFault f = expect_fault([&] { check_parameters(t, m.store, 7); });
  // W's gradient (Σ x rows = [4, 6] per column) overflows too, but W comes first in the store.
  CHECK(std::string(f.what()) ==
        "epoch 7: parameter 'layer1.weight' (in layer 'layer 1 (linear)') became -inf in the optimizer step (its "
        "gradient was finite); lower optim.base_lr or set optim.clip_grad_norm");
  CHECK(f.kind == "parameter");
  CHECK(f.op == "optimizer step");
  CHECK(f.param == "layer1.weight");
}

TEST_CASE("GnnClassifier: layer scopes, and a NaN parameter of the second GCN layer is located") {
  const int n = 6;
  const Csr g = ring(n);
  std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 1, 3, 5};
  Rng rng(3);
  ParamStore<float> store;
  GnnSpec spec;
  spec.layer_type = "gcn";
  spec.in_dim = 4;
  spec.hidden = 5;
  spec.out_dim = 3;
  spec.position = "gir";
  spec.posenc.rwse = true;  // learnt RWSE columns: the "positional inputs" scope
  spec.posenc.rwse_dim = 2;
  spec.posenc.rwse_steps = 3;
  GnnClassifier<float> model(store, rng, spec, g);
  const M<float> x = M<float>::Random(n, 4);
  Optimizer<float> opt({OptimKind::Adam, 0.01, 0.0});
  int64_t w2 = -1;  // the second GCN layer's weight
  for (const ParamInfo& p : store.params())
    if (p.name == "layer1.weight") w2 = p.offset;
  REQUIRE(w2 >= 0);
  Tape<float> t;
  for (int epoch = 1; epoch <= 4; ++epoch) {
    t.clear();
    store.zero_grad();
    if (epoch == 4) store.values()[w2 + 1] = std::numeric_limits<float>::quiet_NaN();
    Var out = model.forward(t, Features<float>{t.view(x), nullptr}, true, rng.next_key());
    Var loss;
    {
      auto scope = t.scope("loss");
      loss = ops::nll_loss(t, out, labels, train);
    }
    if (epoch == 1) {
      std::set<std::string> scopes;
      for (size_t i = 0; i < t.size(); ++i) scopes.insert(t.scope_of(Var{static_cast<int>(i)}));
      std::string all;
      for (const auto& n : scopes) all += "[" + n + "]";
      const std::set<std::string> expected{"",           "positional inputs", "layer 1 (gcn)", "anchor branch (gir)",
                                           "layer 2 (gcn)", "model output",      "loss"};
      CHECK_MESSAGE(scopes == expected, all);
      CHECK(t.scope_of(out) == "model output");
      CHECK(t.scope_of(loss) == "loss");
    }
    if (epoch < 4) {
      check_loss(t, loss, store, epoch);
      t.backward(loss);
      check_gradients(t, loss, store, epoch);
      CHECK(clip_grad_norm(store, 1.0) > 0);
      opt.step(store);
      check_parameters(t, store, epoch);
      continue;
    }
    const NumericFault f = expect_fault([&] { check_loss(t, loss, store, epoch); });
    CHECK(f.epoch == 4);
    CHECK(f.kind == "loss");
    CHECK(f.op == "param");
    CHECK(f.param == "layer1.weight");
    CHECK(f.layer == "layer 2 (gcn)");
  }
}

TEST_CASE("GnnClassifier: scope names of the transformer stack, the anchor branch alone and sum fusion") {
  const Csr g = ring(5);
  struct Case {
    const char* type;
    const char* position;
    const char* fusion;
    std::set<std::string> scopes;
  };
  const std::vector<Case> cases{
      {"transformer", "none", "concat",
       {"", "encoder (linear)", "layer 1 (transformer)", "layer 2 (transformer)", "head (linear)", "model output"}},
      {"gat", "none", "concat", {"", "layer 1 (gat)", "layer 2 (gat)", "model output"}},
      {"pgnn", "none", "concat", {"", "anchor branch (pgnn)", "head (linear)", "model output"}},
      {"sage", "gir", "sum",
       {"", "layer 1 (sage)", "layer 2 (sage)", "anchor branch (gir)", "fusion (sum)", "model output"}}};
  for (const Case& c : cases) {
    Rng rng(4);
    ParamStore<double> store;
    GnnSpec spec;
    spec.layer_type = c.type;
    spec.position = c.position;
    spec.fusion = c.fusion;
    spec.in_dim = 3;
    spec.hidden = 4;
    spec.out_dim = 2;
    spec.att_heads = 2;
    GnnClassifier<double> model(store, rng, spec, g);
    const M<double> x = M<double>::Random(5, 3);
    Tape<double> t;
    Var out = model.forward(t, Features<double>{t.view(x), nullptr}, true, 9);
    std::set<std::string> scopes;
    std::string all;
    for (size_t i = 0; i < t.size(); ++i) scopes.insert(t.scope_of(Var{static_cast<int>(i)}));
    for (const auto& n : scopes) all += "[" + n + "]";
    const std::string label = std::string(c.type) + " " + c.position + ": " + all;
    CHECK_MESSAGE(scopes == c.scopes, label);
    CHECK(t.scope_of(out) == "model output");
  }
}

TEST_CASE("clip_grad_norm: torch's rule, checked by hand") {
  Rng rng(0);
  ParamStore<double> s;
  ParamId a = s.add("a", 1, 2, Init::Zeros, rng);
  ParamId b = s.add("b", 1, 1, Init::Zeros, rng);
  auto set = [&] {
    s.grad(a) << 3, 4;
    s.grad(b) << 12;
  };
  set();
  CHECK(clip_grad_norm(s, 20.0) == 13.0);  // ‖(3, 4, 12)‖ = 13 ≤ 20: untouched
  CHECK(s.grad(a)(0, 0) == 3.0);
  CHECK(clip_grad_norm(s, 0.0) == 13.0);  // 0: measure only
  CHECK(s.grad(b)(0, 0) == 12.0);
  CHECK(clip_grad_norm(s, 6.5) == 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);  // ≈ 0.49999996
  CHECK(s.grad(a)(0, 0) == doctest::Approx(3 * coef).epsilon(1e-15));
  CHECK(s.grad(a)(0, 1) == doctest::Approx(4 * coef).epsilon(1e-15));
  CHECK(s.grad(b)(0, 0) == doctest::Approx(12 * coef).epsilon(1e-15));
  // Clipped to 13·coef = max_norm − 5e-7: as in torch, norm + 1e-6 > max_norm scales once more.
  const double coef2 = 6.5 / (13 * coef + 1e-6);
  CHECK(coef2 < 1);
  CHECK(clip_grad_norm(s, 6.5) == doctest::Approx(13 * coef).epsilon(1e-15));
  CHECK(s.grad(b)(0, 0) == doctest::Approx(12 * coef * coef2).epsilon(1e-15));
  CHECK(clip_grad_norm(s, 7.0) == doctest::Approx(13 * coef * coef2).epsilon(1e-15));  // within 7: unchanged
  CHECK(s.grad(b)(0, 0) == doctest::Approx(12 * coef * coef2).epsilon(1e-15));

  // float gradients whose squares overflow float: the norm is summed again in double.
  ParamStore<float> f;
  ParamId c = f.add("c", 1, 2, Init::Zeros, rng);
  f.grad(c) << 3e20f, 4e20f;
  CHECK(clip_grad_norm(f, 1.0) == doctest::Approx(5e20).epsilon(1e-6));
  CHECK(f.grad(c)(0, 0) == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(f.grad(c)(0, 1) == doctest::Approx(0.8).epsilon(1e-5));
}

TEST_CASE("all_finite: NaN, ±Inf and huge finite values") {
  std::vector<float> v(100, 1e38f);
  CHECK(all_finite(v.data(), 100));  // Σ x·0 cannot overflow
  CHECK(all_finite(v.data(), 0));
  v[97] = -std::numeric_limits<float>::infinity();
  CHECK_FALSE(all_finite(v.data(), 100));
  CHECK(all_finite(v.data(), 97));
  v[97] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(all_finite(v.data(), 100));
}
