#include "layers/positional/inputs.hpp"

#include <optional>

#include "core/error.hpp"
#include "core/ops/shape.hpp"
#include "layers/anchor_indication.hpp"
#include "layers/positional/anchors.hpp"
#include "layers/positional/laplacian.hpp"
#include "layers/positional/random_walk.hpp"

namespace locus::pe {

template <class T>
struct PositionalInputs<T>::Encoders {
  std::optional<Linear<T>> lap, rwse, anchor;
  std::optional<LearnedPE<T>> learned;
  std::optional<FourierPE<T>> fourier;
};

namespace {
Mat anchor_values(const Csr& g, uint64_t seed, int cutoff) {
  return anchor_distances(g, sample_anchor_sets(g.num_dst, seed), cutoff).value;
}
template <class T>
MatT<T> cast(const Mat& m) {
  return m.template cast<T>();
}
}  // namespace

template <class T>
PositionalInputs<T>::PositionalInputs(ParamStore<T>& store, Rng& rng, const PosEncSpec& spec, GraphRef graph,
                                      uint64_t seed)
    : spec_(spec), seq_(parse_seq_pe(spec.seq)), enc_(std::make_unique<Encoders>()) {
  const bool graph_pe = spec.lap || spec.rwse || spec.anchor || spec.spd || spec.indication;
  if (graph.dense && graph_pe)
    throw InputError("posenc_LapPE/RWSE/Anchor/SPD need an edge-list graph; on sentences use posenc_seq.kind");
  if (graph.csr && seq_ != SeqPE::None)
    throw InputError("posenc_seq.kind '" + spec.seq + "' needs sentences (a built-in seq_* dataset); on graphs use "
                     "posenc_LapPE, posenc_RWSE, posenc_Anchor or posenc_SPD");
  if (spec.anchor || spec.indication) graph_ = std::make_shared<const Csr>(*graph.csr);  // for resampling
  if (graph.dense) {
    dense_ = std::make_shared<const Dense>(*graph.dense);
    positions_ = block_positions(*dense_);
  }
  // An empty graph (a model on many graphs, built before its first batch): set_rows brings the rows.
  const bool empty = graph.csr && graph.csr->num_dst == 0;
  if (spec.lap) {
    lap_ = empty ? Mat(0, spec.lap_freqs) : laplacian_pe(*graph.csr, spec.lap_freqs).vectors;
    enc_->lap.emplace(store, rng, "posenc.lap", spec.lap_freqs, spec.lap_dim);
    dim_ += spec.lap_dim;
  }
  if (spec.rwse) {
    // Exact diagonals on small graphs; larger ones drop walk probabilities below 1e-4 (a lower bound).
    RandomWalkOptions ro;
    if (graph.csr->num_dst > 20000) ro.drop_tol = 1e-4;
    rwse_ = empty ? Mat(0, spec.rwse_steps) : random_walk_pe(*graph.csr, spec.rwse_steps, ro);
    enc_->rwse.emplace(store, rng, "posenc.rwse", spec.rwse_steps, spec.rwse_dim);
    dim_ += spec.rwse_dim;
  }
  if (spec.anchor) {
    anchors_eval_ = anchor_values(*graph.csr, seed, spec.anchor_cutoff);
    enc_->anchor.emplace(store, rng, "posenc.anchor", anchors_eval_.cols(), spec.anchor_dim);
    dim_ += spec.anchor_dim;
  }
  if (spec.indication) {
    // Anchor indication (GIR.md): I[v, k] = 1 when v is in anchor set k, as input columns.
    indicator_eval_ = anchor_indicator<T>(sample_anchor_sets(graph.csr->num_dst, splitmix64(seed ^ 4)), graph.csr->num_dst);
    dim_ += indicator_eval_.cols();
  }
  switch (seq_) {
    case SeqPE::Sinusoidal:
    case SeqPE::Cape:
      sinusoid_ = sinusoidal_pe<T>(positions_, spec.seq_dim);
      dim_ += spec.seq_dim;
      break;
    case SeqPE::Learned:
      enc_->learned.emplace(store, rng, "posenc.learned", spec.seq_max_len, spec.seq_dim, OutOfRange::Clip);
      dim_ += spec.seq_dim;
      break;
    case SeqPE::Fourier:
      enc_->fourier.emplace(store, rng, "posenc.fourier", positions_.cols(), spec.seq_dim, spec.seq_dim, spec.seq_dim,
                            1.0);
      dim_ += spec.seq_dim;
      break;
    default: break;  // none, and the relative ones (in the attention)
  }
}

template <class T>
void PositionalInputs<T>::set_rows(Mat lap, Mat rwse) {
  if (spec_.lap) {
    check(lap.cols() == spec_.lap_freqs, "PositionalInputs::set_rows: LapPE rows need " + std::to_string(spec_.lap_freqs) + " columns");
    lap_ = std::move(lap);
  }
  if (spec_.rwse) {
    check(rwse.cols() == spec_.rwse_steps, "PositionalInputs::set_rows: RWSE rows need " + std::to_string(spec_.rwse_steps) + " columns");
    rwse_ = std::move(rwse);
  }
}

template <class T>
void PositionalInputs<T>::set_sentences(const Dense& sentences) {
  check(dense_ != nullptr, "PositionalInputs::set_sentences: built on a graph, not on sentences");
  dense_ = std::make_shared<const Dense>(sentences);
  positions_ = block_positions(*dense_);
  if (seq_ == SeqPE::Sinusoidal || seq_ == SeqPE::Cape) sinusoid_ = sinusoidal_pe<T>(positions_, spec_.seq_dim);
}

template <class T>
PositionalInputs<T>::PositionalInputs(PositionalInputs&&) noexcept = default;
template <class T>
PositionalInputs<T>::~PositionalInputs() = default;

template <class T>
Var PositionalInputs<T>::forward(Tape<T>& t, bool training, uint64_t key) const {
  std::vector<Var> parts;
  if (enc_->lap) {
    // A random sign per eigenvector and call in training (the sign of an eigenvector is
    // arbitrary), unless lap_sign_flip is off: then the evaluation's deterministic signs.
    const Mat v = training && randomised(spec_.lap_sign_flip) ? random_sign_flip(lap_, splitmix64(key ^ 1)) : lap_;
    parts.push_back(enc_->lap->forward(t, Features<T>{t.constant(cast<T>(v)), nullptr}));
  }
  if (enc_->rwse) parts.push_back(enc_->rwse->forward(t, Features<T>{t.constant(cast<T>(rwse_)), nullptr}));
  if (enc_->anchor) {
    // Fresh anchor sets every training call (P-GNN); the fixed evaluation sets otherwise.
    const Mat a = training && randomised(spec_.anchor_resample) ? anchor_values(*graph_, splitmix64(key ^ 2), spec_.anchor_cutoff)
                                                    : anchors_eval_;
    parts.push_back(enc_->anchor->forward(t, Features<T>{t.constant(cast<T>(a)), nullptr}));
  }
  if (spec_.indication)
    parts.push_back(training && randomised(spec_.indication_resample)
                        ? t.constant(anchor_indicator<T>(sample_anchor_sets(graph_->num_dst, splitmix64(key ^ 4)),
                                                         graph_->num_dst))
                        : t.constant(indicator_eval_));
  if (seq_ == SeqPE::Sinusoidal || (seq_ == SeqPE::Cape && !training)) parts.push_back(t.constant(sinusoid_));
  if (seq_ == SeqPE::Cape && training)
    parts.push_back(t.constant(sinusoidal_pe<T>(cape_augment(positions_, *dense_, CapeOptions{}, splitmix64(key ^ 3)),
                                                spec_.seq_dim)));
  if (enc_->learned) parts.push_back(enc_->learned->forward(t, positions_));
  if (enc_->fourier) parts.push_back(enc_->fourier->forward(t, positions_));
  if (parts.empty()) return Var{};
  return parts.size() == 1 ? parts[0] : ops::concat_cols(t, parts);
}

template class PositionalInputs<float>;
template class PositionalInputs<double>;

}  // namespace locus::pe
