#include "layers/positional/sequence.hpp"

#include <cmath>
#include <iterator>
#include <string>
#include <numbers>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/position.hpp"
#include "core/ops/shape.hpp"

namespace locus::pe {

namespace {
// Fills a parameter with N(0, std²) draws from rng (Box–Muller; 1 − u keeps the log finite).
template <class T>
void fill_normal(ParamStore<T>& store, ParamId p, Rng& rng, double std) {
  auto v = store.value(p);
  for (int64_t i = 0; i < v.size(); ++i) {
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    v.data()[i] = static_cast<T>(std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
  }
}

std::string fmt_num(double x) {
  if (x == std::floor(x) && std::abs(x) < 1e15) return std::to_string(static_cast<long long>(x));
  return std::to_string(x);
}
}  // namespace

Mat block_positions(const Dense& g) {
  Mat pos(g.num_nodes(), 1);
  for (int64_t b = 0; b < g.num_blocks(); ++b)
    for (int64_t i = 0; i < g.block_len(b); ++i) pos(g.offsets[b] + i, 0) = static_cast<float>(i);
  return pos;
}

template <class T>
MatT<T> sinusoidal_pe(const Mat& pos, int64_t dim, double base) {
  const int64_t n = pos.rows(), np = pos.cols();
  check(np >= 1, "sinusoidal_pe: pos needs at least one column (position dimension)");
  if (dim <= 0 || dim % (2 * np) != 0)
    throw InputError("sinusoidal positional encoding: dim " + std::to_string(dim) +
                     " must be a positive multiple of 2·P = " + std::to_string(2 * np) + " for P = " +
                     std::to_string(np) +
                     " position dimensions (each dimension gets dim/P columns of sin/cos pairs); choose such a dim");
  check(base > 0, "sinusoidal_pe: base must be positive, got " + std::to_string(base));
  const int64_t dc = dim / np, half = dc / 2;
  std::vector<double> inv_freq(half);  // 1 / base^(2k/dc)
  for (int64_t k = 0; k < half; ++k)
    inv_freq[k] = std::pow(base, -2.0 * static_cast<double>(k) / static_cast<double>(dc));
  MatT<T> out(n, dim);
  ops::detail::for_each_row(n, dim, [&](int64_t r) {
    for (int64_t c = 0; c < np; ++c) {
      const double p = pos(r, c);
      for (int64_t k = 0; k < half; ++k) {
        const double a = p * inv_freq[k];
        out(r, c * dc + 2 * k) = static_cast<T>(std::sin(a));
        out(r, c * dc + 2 * k + 1) = static_cast<T>(std::cos(a));
      }
    }
  });
  return out;
}

template <class T>
LearnedPE<T>::LearnedPE(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t max_len, int64_t dim,
                        OutOfRange mode, double init_std)
    : store_(&store), name_(name), max_len_(max_len), dim_(dim), mode_(mode) {
  check(max_len >= 1 && dim >= 1, "LearnedPE " + name + ": max_len and dim must be positive");
  table_ = store.add(name + ".table", max_len, dim, Init::Zeros, rng);
  fill_normal(store, table_, rng, init_std);
}

template <class T>
Var LearnedPE<T>::forward(Tape<T>& t, const Mat& pos) const {
  check(pos.cols() == 1, "LearnedPE " + name_ + ": positions must be [N, 1], got " + std::to_string(pos.cols()) +
                             " columns");
  const int64_t n = pos.rows();
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) {
    const float p = pos(i, 0);
    if (!(p >= 0.0f) || p != std::floor(p))
      throw InputError("learned positional encoding '" + name_ + "': position " + std::to_string(p) + " of token " +
                       std::to_string(i) + " is not an integer ≥ 0. Learned positions index a table; use " +
                       "sinusoidal or fourier for continuous (e.g. CAPE-augmented) positions");
    if (p >= static_cast<float>(max_len_)) {
      if (mode_ == OutOfRange::Clip) {
        idx[i] = max_len_ - 1;
        continue;
      }
      throw InputError("learned positional encoding '" + name_ + "': position " + fmt_num(p) + " (token " +
                       std::to_string(i) + ") is beyond its table of max_len = " + std::to_string(max_len_) +
                       " rows (positions 0.." + std::to_string(max_len_ - 1) + "). Raise max_len to at least " +
                       fmt_num(p + 1) + ", use the clip mode (longer positions share the last row), or choose " +
                       "an encoding that extrapolates (sinusoidal, rope, cape)");
    }
    idx[i] = static_cast<int64_t>(p);
  }
  return ops::gather_rows(t, t.param(*store_, table_), std::span<const int64_t>(idx));
}

template <class T>
FourierPE<T>::FourierPE(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t pos_dims, int64_t features,
                        int64_t hidden, int64_t dim, double gamma)
    : store_(&store),
      pos_dims_(pos_dims),
      features_(features),
      dim_(dim),
      wr_([&] {
        if (features < 2 || features % 2 != 0)
          throw InputError("fourier positional encoding '" + name + "': features " + std::to_string(features) +
                           " must be even and ≥ 2 (half cosines, half sines); choose an even number");
        if (!(gamma > 0))
          throw InputError("fourier positional encoding '" + name + "': gamma " + std::to_string(gamma) +
                           " must be positive (W_r is drawn from N(0, gamma^-2))");
        check(pos_dims >= 1 && hidden >= 1 && dim >= 1,
              "FourierPE " + name + ": pos_dims, hidden and dim must be positive");
        ParamId p = store.add(name + ".wr", pos_dims, features / 2, Init::Zeros, rng);
        fill_normal(store, p, rng, 1.0 / gamma);
        return p;
      }()),
      mlp_(store, rng, name + ".mlp", {features, hidden, dim}, ops::Act::Gelu, 0.0) {}

template <class T>
Var FourierPE<T>::forward(Tape<T>& t, const Mat& pos) const {
  check(pos.cols() == pos_dims_, "FourierPE: positions have " + std::to_string(pos.cols()) +
                                     " columns, the encoder was built for " + std::to_string(pos_dims_));
  Var p = t.constant(pos.template cast<T>());
  Var r = ops::matmul(t, p, t.param(*store_, wr_));                          // [N, F/2]
  Var f = ops::concat_cols(t, {ops::cosine(t, r), ops::sine(t, r)});         // [N, F]
  f = ops::scale(t, f, static_cast<T>(1.0 / std::sqrt(static_cast<double>(features_))));
  return mlp_.forward(t, Features<T>{f, nullptr}, false, 0);  // no dropout inside the encoder
}

Mat cape_augment(const Mat& pos, const Dense& g, const CapeOptions& opt, uint64_t key) {
  if (!(opt.max_global_shift >= 0) || !(opt.max_local_shift >= 0) || !(opt.max_global_scaling >= 1))
    throw InputError("cape: max_global_shift (" + std::to_string(opt.max_global_shift) + ") and max_local_shift (" +
                     std::to_string(opt.max_local_shift) + ") must be ≥ 0 and max_global_scaling (" +
                     std::to_string(opt.max_global_scaling) +
                     ") ≥ 1; use 0, 0 and 1 to turn the augmentation off");
  check(pos.rows() == g.num_nodes(), "cape_augment: pos has " + std::to_string(pos.rows()) +
                                         " rows but the graph has " + std::to_string(g.num_nodes()) + " nodes");
  const int64_t np = pos.cols();
  // Independent counter-based streams for the three kinds of draw.
  const uint64_t k_shift = splitmix64(key ^ 0x5A17u), k_scale = splitmix64(key ^ 0x5CA1Eu),
                 k_local = splitmix64(key ^ 0x10CA1u);
  const double log_s = std::log(opt.max_global_scaling);
  auto sym = [](uint64_t k, uint64_t i) { return 2.0 * Rng::uniform_at(k, i) - 1.0; };  // U[−1, 1)
  Mat out(pos.rows(), np);
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const double lambda = std::exp(log_s * sym(k_scale, b));
    for (int64_t c = 0; c < np; ++c) {
      const double delta = opt.max_global_shift * sym(k_shift, b * np + c);
      for (int64_t i = g.offsets[b]; i < g.offsets[b + 1]; ++i) {
        const double eps = opt.max_local_shift * sym(k_local, i * np + c);
        out(i, c) = static_cast<float>(lambda * (static_cast<double>(pos(i, c)) + delta + eps));
      }
    }
  }
  return out;
}

namespace {
constexpr const char* kSeqPeNames[] = {"none", "sinusoidal", "learned", "rope", "fourier", "cape", "t5_bias", "fft_kernel"};
}

SeqPE parse_seq_pe(const std::string& name) {
  for (int i = 0; i < static_cast<int>(std::size(kSeqPeNames)); ++i)
    if (name == kSeqPeNames[i]) return static_cast<SeqPE>(i);
  const std::string near = nearest(name, std::vector<std::string>(std::begin(kSeqPeNames), std::end(kSeqPeNames)));
  throw InputError("unknown sequence positional encoding '" + name +
                   "'. Use one of none|sinusoidal|learned|rope|fourier|cape|t5_bias|fft_kernel" +
                   (near.empty() ? std::string() : " (did you mean '" + near + "'?)"));
}

const char* seq_pe_name(SeqPE pe) { return kSeqPeNames[static_cast<int>(pe)]; }

std::vector<std::string> seq_pe_names() { return {std::begin(kSeqPeNames), std::end(kSeqPeNames)}; }

template MatT<float> sinusoidal_pe<float>(const Mat&, int64_t, double);
template MatT<double> sinusoidal_pe<double>(const Mat&, int64_t, double);
template class LearnedPE<float>;
template class LearnedPE<double>;
template class FourierPE<float>;
template class FourierPE<double>;

}  // namespace locus::pe
