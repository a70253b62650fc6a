// The positional inputs of a model, as chosen by the config's posenc_* keys: graph encodings
// (Laplacian eigenvectors, random-walk diagonals, anchor distances) each through a Linear encoder
// to its dim_pe, and absolute sequence encodings (sinusoidal, learned, Fourier, CAPE) for
// sentences. Their columns are appended to the node features ([x ‖ pe]). Relative options (RoPE,
// T5 bias, l2 attention, SPD bias) live in the Transformer layer; their settings are here too.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "layers/linear.hpp"
#include "layers/positional/sequence.hpp"

namespace locus {
// A switch whose Auto the task decides (GnnSpec::fusion_select, the encodings' randomisation).
enum class Toggle { Auto, On, Off };
}  // namespace locus

namespace locus::pe {

struct AnchorSets;

struct PosEncSpec {
  bool lap = false;       // posenc_LapPE.enable
  // posenc_LapPE.sign_flip: random eigenvector signs every training call (On), evaluation's signs
  // throughout (Off); Auto is resolved by the model (resolve_posenc in layers/gnn.hpp) and reads On here.
  Toggle lap_sign_flip = Toggle::Auto;
  int lap_dim = 8;        // posenc_LapPE.dim_pe
  int lap_freqs = 8;      // posenc_LapPE.eigen.max_freqs: eigenvectors k
  bool rwse = false;      // posenc_RWSE.enable
  int rwse_dim = 8;       // posenc_RWSE.dim_pe
  int rwse_steps = 16;    // posenc_RWSE.kernel.times: K
  bool anchor = false;    // posenc_Anchor.enable
  int anchor_dim = 16;    // posenc_Anchor.dim_pe
  int anchor_cutoff = -1; // posenc_Anchor.cutoff: q-hop cutoff (-1: none)
  Toggle anchor_resample = Toggle::Auto;  // posenc_Anchor.resample: fresh anchor sets every training call
  // posenc_Anchor.sizes: P-GNN's set sizes c, c² sets (0: c = ⌊log₂ n⌋ of the graph; on many graphs
  // the trainer sets it from the largest graph, as every graph needs the same columns)
  int anchor_sizes = 0;
  bool indication = false;  // posenc_AnchorInd.enable: GIR's anchor indication, I [N, K] appended
  Toggle indication_resample = Toggle::Auto;  // posenc_AnchorInd.resample: fresh sets every training call
  int indication_sizes = 0;  // posenc_AnchorInd.sizes: as anchor_sizes
  bool spd = false;       // posenc_SPD.enable (transformer on graphs)
  int spd_max_dist = 2;   // posenc_SPD.max_dist: attend within this many hops
  // posenc_seq.kind: none | sinusoidal | learned | rope | fourier | cape | t5_bias | fft_kernel
  std::string seq = "none";
  int seq_dim = 16;          // posenc_seq.dim_pe: columns of the absolute encodings
  int seq_max_len = 512;     // posenc_seq.max_len: rows of the learned table (longer positions clip)
  int seq_buckets = 32;      // posenc_seq.buckets: T5 buckets
  int seq_max_distance = 128;  // posenc_seq.max_distance: T5 offsets beyond share the last bucket;
                               // fft_kernel: the bias table covers offsets ±max_distance
  // Graph columns appended to the input (LapPE, RWSE, AnchorPE, anchor indication); SPD and the
  // sequence encodings are not graph columns.
  bool graph_columns() const { return lap || rwse || anchor || indication; }
};

// The next mini-batch of a dataset of many graphs, as the positional inputs need it: each graph's
// own encodings (computed per graph, not for the batch's union), and which graphs it holds.
struct BatchRows {
  Mat lap;     // [n, lap_freqs]: each graph's LapPE rows (posenc_LapPE on)
  Mat rwse;    // [n, rwse_steps]: each graph's RWSE rows (posenc_RWSE on)
  Mat anchor;  // [n, anchor_sizes²]: evaluation anchor values (posenc_Anchor on; empty: computed here)
  std::vector<int64_t> offset{0};  // batch graph b is nodes [offset[b], offset[b+1])
  std::vector<int32_t> graphs;     // their dataset ids, which seed their anchor sets (graph_anchor_seed)
};

// A randomisation toggle as PositionalInputs reads it: Auto (unresolved) randomises, as the papers do.
inline bool randomised(Toggle t) { return t != Toggle::Off; }

template <class T>
class PositionalInputs {
 public:
  // graph: the raw topology (before any normalisation) or the sentences. `seed` fixes the anchor
  // sets used at evaluation; training resamples them every call unless the spec says otherwise
  // (and flips eigenvector signs likewise): the fixed values of evaluation are used throughout.
  PositionalInputs(ParamStore<T>& store, Rng& rng, const PosEncSpec& spec, GraphRef graph, uint64_t seed);
  PositionalInputs(PositionalInputs&&) noexcept;
  ~PositionalInputs();

  int64_t dim() const { return dim_; }  // columns appended to the input (0: none)
  // [n, dim()] for this call (sign flips, anchor resampling, CAPE in training), or an invalid Var.
  Var forward(Tape<T>& t, bool training, uint64_t key) const;
  // Datasets of many graphs: the next batch, `graph` its raw union (read by anchor resampling).
  // Graph b's anchor sets are those it would draw alone with seed graph_anchor_seed(seed, graphs[b])
  // (training: with the call's key in place of the seed). Unused parts of `rows` are ignored.
  void set_batch(const Csr& graph, BatchRows rows);
  // Sentences in batches: the next batch's blocks; positions and sinusoids follow them (the
  // Mat positions() points to is rewritten in place).
  void set_sentences(const Dense& sentences);
  // Positions [n, 1] of sentence tokens (RoPE); null on graphs.
  const Mat* positions() const { return dense_ ? &positions_ : nullptr; }

 private:
  struct Encoders;
  // Anchor sets of the graph, or of each graph of the batch: graph seed s (the batch's graph b:
  // graph_anchor_seed(seed, graphs[b])), then splitmix64(s ^ salt) unless salt is 0.
  AnchorSets draw_sets(uint64_t seed, uint64_t salt, int sizes) const;
  int64_t num_nodes() const { return graph_ ? graph_->num_dst : 0; }
  PosEncSpec spec_;
  SeqPE seq_ = SeqPE::None;
  std::shared_ptr<const Csr> graph_;  // the raw graph when anchors are resampled
  uint64_t seed_ = 0;                 // the evaluation sets' seed
  std::vector<int64_t> batch_offset_;  // many graphs: the batch's graphs (empty: one graph)
  std::vector<int32_t> batch_graphs_;
  std::shared_ptr<const Dense> dense_;
  Mat lap_, rwse_, anchors_eval_, positions_;
  MatT<T> indicator_eval_;
  MatT<T> sinusoid_;
  std::unique_ptr<Encoders> enc_;
  int64_t dim_ = 0;
};

}  // namespace locus::pe
