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

}  // namespace locus
