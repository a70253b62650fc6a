#include "layers/anchor_indication.hpp"

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/shape.hpp"

namespace locus {

AnchorIndicationMode parse_anchor_indication(const std::string& name) {
  if (name == "concat") return AnchorIndicationMode::Concat;
  if (name == "embedding") return AnchorIndicationMode::Embedding;
  const std::string hint = nearest(name, {"concat", "embedding"});
  throw InputError("unknown anchor indication mode '" + name + "'. Use concat or embedding" +
                   (hint.empty() ? std::string() : " (did you mean " + hint + "?)"));
}

template <class T>
MatT<T> anchor_indicator(const pe::AnchorSets& sets, int64_t n) {
  const int64_t k = sets.num_sets();
  MatT<T> ind = MatT<T>::Zero(n, k);
  for (int64_t s = 0; s < k; ++s)
    for (int64_t p = sets.offsets[s]; p < sets.offsets[s + 1]; ++p) {
      const int32_t v = sets.nodes[p];
      if (v < 0 || v >= n)
        check(false, "anchor_indicator: anchor " + std::to_string(v) + " of set " + std::to_string(s) +
                         " is outside the " + std::to_string(n) + " nodes");
      ind(v, s) = T(1);
    }
  return ind;
}

template <class T>
Var anchor_indicator(Tape<T>& t, const pe::AnchorSets& sets, int64_t n) {
  return t.constant(anchor_indicator<T>(sets, n), "anchor_indicator");
}

template <class T>
Features<T> append_indicator(Tape<T>& t, const Features<T>& x, Var indicator) {
  Features<T> out = x;
  out.extra = x.has_extra() ? ops::concat_cols(t, {x.extra, indicator}) : indicator;
  return out;
}

template <class T>
AnchorEmbedding<T>::AnchorEmbedding(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t num_sets,
                                    int64_t dim, bool decay)
    : store_(&store), k_(num_sets), d_(dim) {
  check(num_sets >= 1 && dim >= 1, "AnchorEmbedding: needs at least one set and one column");
  e_ = store.add(name + ".table", num_sets, dim, Init::Glorot, rng, decay);
}

template <class T>
Var AnchorEmbedding<T>::anchor_embedding(Tape<T>& t, Var indicator) const {
  check(t.cols(indicator) == k_, "AnchorEmbedding: the indicator has " + std::to_string(t.cols(indicator)) +
                                     " anchor sets, the table was built for " + std::to_string(k_));
  return ops::matmul(t, indicator, t.param(*store_, e_));
}

template <class T>
Var AnchorEmbedding<T>::add_to(Tape<T>& t, Var h, Var indicator) const {
  return ops::add(t, h, anchor_embedding(t, indicator));
}

#define LOCUS_INSTANTIATE(T)                                                                   \
  template MatT<T> anchor_indicator<T>(const pe::AnchorSets&, int64_t);                        \
  template Var anchor_indicator<T>(Tape<T>&, const pe::AnchorSets&, int64_t);                  \
  template Features<T> append_indicator<T>(Tape<T>&, const Features<T>&, Var);                 \
  template class AnchorEmbedding<T>;
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus
