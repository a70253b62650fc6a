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
template <class T>
MatT<T> cast(const Mat& m) {
  return m.template cast<T>();
}
}  // namespace

template <class T>
PositionalInputs<T>::PositionalInputs(ParamStore<T>& store, Rng& rng, const PosEncSpec& spec, GraphRef graph,
                                      uint64_t seed)
    : spec_(spec), seq_(parse_seq_pe(spec.seq)), seed_(seed), enc_(std::make_unique<Encoders>()) {
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
  // An empty graph (a model on many graphs, built before its first batch): set_batch brings the rows.
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
  // Anchor columns: c² sets for posenc_*.sizes c, else P-GNN's count for this graph. A model on
  // many graphs is built on an empty graph and needs c (its batches bring the rows).
  if ((spec.anchor && spec.anchor_sizes == 0) || (spec.indication && spec.indication_sizes == 0))
    check(!empty, "PositionalInputs: anchor encodings on many graphs need posenc_Anchor.sizes / posenc_AnchorInd.sizes");
  if (spec.anchor) {
    anchors_eval_ = empty ? Mat(0, int64_t(spec.anchor_sizes) * spec.anchor_sizes)
                          : anchor_values(*graph_, draw_sets(seed, 0, spec.anchor_sizes), spec.anchor_cutoff);
    enc_->anchor.emplace(store, rng, "posenc.anchor", anchors_eval_.cols(), spec.anchor_dim);
    dim_ += spec.anchor_dim;
  }
  if (spec.indication) {
    // Anchor indication (GIR.md): I[v, k] = 1 when v is in anchor set k, as input columns.
    indicator_eval_ = empty ? MatT<T>(0, int64_t(spec.indication_sizes) * spec.indication_sizes)
                            : anchor_indicator<T>(draw_sets(seed, 4, spec.indication_sizes), num_nodes());
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
AnchorSets PositionalInputs<T>::draw_sets(uint64_t seed, uint64_t salt, int sizes) const {
  auto mix = [&](uint64_t s) { return salt ? splitmix64(s ^ salt) : s; };
  if (batch_offset_.empty())
    return sizes > 0 ? sample_anchor_sets(num_nodes(), mix(seed), sizes, sizes) : sample_anchor_sets(num_nodes(), mix(seed));
  std::vector<uint64_t> seeds(batch_graphs_.size());
  for (size_t b = 0; b < seeds.size(); ++b) seeds[b] = mix(graph_anchor_seed(seed, batch_graphs_[b]));
  return batch_anchor_sets(batch_offset_, seeds, sizes);
}

template <class T>
void PositionalInputs<T>::set_batch(const Csr& graph, BatchRows rows) {
  const int64_t n = graph.num_dst;
  check(rows.offset.size() == rows.graphs.size() + 1 && rows.offset.front() == 0 && rows.offset.back() == n,
        "PositionalInputs::set_batch: the graphs' offsets do not cover the batch's nodes");
  auto take = [&](bool on, Mat& to, Mat& from, int64_t cols, const char* what) {
    if (!on) return;
    check(from.rows() == n && from.cols() == cols,
          std::string("PositionalInputs::set_batch: ") + what + " rows need [" + std::to_string(n) + ", " + std::to_string(cols) + "]");
    to = std::move(from);
  };
  take(spec_.lap, lap_, rows.lap, spec_.lap_freqs, "LapPE");
  take(spec_.rwse, rwse_, rows.rwse, spec_.rwse_steps, "RWSE");
  if (!spec_.anchor && !spec_.indication) return;
  graph_ = std::make_shared<const Csr>(graph);
  batch_offset_ = std::move(rows.offset);
  batch_graphs_ = std::move(rows.graphs);
  if (spec_.anchor) {
    if (rows.anchor.size() == 0) rows.anchor = anchor_values(graph, draw_sets(seed_, 0, spec_.anchor_sizes), spec_.anchor_cutoff);
    take(true, anchors_eval_, rows.anchor, int64_t(spec_.anchor_sizes) * spec_.anchor_sizes, "anchor");
  }
  if (spec_.indication) indicator_eval_ = anchor_indicator<T>(draw_sets(seed_, 4, spec_.indication_sizes), n);
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
    const Mat a = training && randomised(spec_.anchor_resample)
                      ? anchor_values(*graph_, draw_sets(key, 2, spec_.anchor_sizes), spec_.anchor_cutoff)
                      : anchors_eval_;
    parts.push_back(enc_->anchor->forward(t, Features<T>{t.constant(cast<T>(a)), nullptr}));
  }
  if (spec_.indication)
    parts.push_back(training && randomised(spec_.indication_resample)
                        ? t.constant(anchor_indicator<T>(draw_sets(key, 4, spec_.indication_sizes), num_nodes()))
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
