// Train/validation/test node splits: checks for file-given splits, and seeded random and
// Planetoid-style per-class splits that give the same nodes on every platform (a local
// splitmix64 generator and Fisher-Yates shuffle; no std::shuffle or std distributions).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace locus {

// Where a split setting lives in the YAML, for error messages.
struct ErrorSite {
  std::string file;
  long line = 0;
};

class SplitRng {
 public:
  explicit SplitRng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0; rejection sampling, so unbiased
 private:
  uint64_t state_;
};

// Fisher-Yates, last to first.
void shuffle_ids(std::vector<int32_t>& v, SplitRng& rng);

struct SplitIds {
  std::vector<int32_t> train, val, test;
};

// Fractions of the candidate nodes (the labelled ones when labels exist, else all). A missing
// test fraction means "the rest". Per part: round(fraction * n); with stratify each class is split
// separately. Parts are returned sorted by node id.
struct RandomSplitSpec {
  double train = 0, val = 0;
  std::optional<double> test;
  bool stratify = false;
  uint64_t seed = 0;
};
SplitIds random_split(const std::vector<int32_t>& labels, int32_t num_classes, int64_t num_nodes,
                      const RandomSplitSpec& spec, const ErrorSite& at);

// Planetoid-style: `train` labelled nodes of each class, then `val` and `test` nodes drawn from
// the remaining labelled nodes (a missing test count means "all the rest"). Sorted by node id.
struct PerClassSplitSpec {
  int64_t train = 0, val = 0;
  std::optional<int64_t> test;
  uint64_t seed = 0;
};
SplitIds per_class_split(const std::vector<int32_t>& labels, int32_t num_classes,
                         const std::vector<std::string>& label_names, const PerClassSplitSpec& spec,
                         const ErrorSite& at);

// k-fold cross-validation: the candidates (as random_split's) are shuffled and dealt to folds
// 0..k−1 in turn; with stratify each class in increasing class order, the dealing carrying on
// from where the class before stopped, so every fold gets ⌊n_c / k⌋ or ⌈n_c / k⌉ of class c and
// fold sizes differ by at most one. Fold `fold` is the test part; with val, fold (fold + 1) mod k
// is the validation part (train : val : test = k−2 : 1 : 1), else val is empty; the other folds
// train. Sorted by id. 2 ≤ k ≤ the number of candidates, 0 ≤ fold < k (checked).
struct FoldSplitSpec {
  int64_t k = 10, fold = 0;
  bool stratify = false, val = true;
  uint64_t seed = 0;
};
SplitIds fold_split(const std::vector<int32_t>& labels, int64_t num_items, const FoldSplitSpec& spec,
                    const ErrorSite& at);

}  // namespace locus
