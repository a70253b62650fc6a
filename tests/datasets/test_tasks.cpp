// Pair-task splits (datasets/tasks.hpp): link prediction and pairwise node classification on the
// Grid / Communities built-ins: part sizes, disjointness, negatives are non-edges (or
// different-label pairs), the train graph holds only train edges, determinism per seed, the
// positive-pair cap, fresh training negatives, and the input errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "datasets/builtin.hpp"
#include "datasets/sentence.hpp"
#include "datasets/tasks.hpp"

using namespace locus;

namespace {

using Pair = std::pair<int32_t, int32_t>;

std::set<Pair> undirected_edges(const std::vector<int32_t>& src, const std::vector<int32_t>& dst) {
  std::set<Pair> s;
  for (size_t i = 0; i < src.size(); ++i)
    if (src[i] != dst[i]) s.emplace(std::min(src[i], dst[i]), std::max(src[i], dst[i]));
  return s;
}

// Checks the layout of a part (u < v, positives first, equal halves) and returns its pairs by target.
std::pair<std::vector<Pair>, std::vector<Pair>> parts_of(const PairPart& p) {
  REQUIRE(p.u.size() == p.v.size());
  REQUIRE(p.u.size() == p.target.size());
  std::vector<Pair> pos, neg;
  bool ordered = true, first = true;
  for (int64_t i = 0; i < p.size(); ++i) {
    ordered = ordered && p.u[i] < p.v[i];
    first = first && (p.target[i] == 1) == (i < p.size() / 2);
    (p.target[i] == 1 ? pos : neg).emplace_back(p.u[i], p.v[i]);
  }
  CHECK(ordered);
  CHECK(first);
  CHECK(pos.size() == neg.size());
  CHECK(p.num_positive() == static_cast<int64_t>(pos.size()));
  return {pos, neg};
}

bool same(const PairPart& a, const PairPart& b) { return a.u == b.u && a.v == b.v && a.target == b.target; }
bool same(const TaskSplit& a, const TaskSplit& b) {
  return same(a.train, b.train) && same(a.val, b.val) && same(a.test, b.test) && a.src == b.src && a.dst == b.dst &&
         a.train_exclude.keys() == b.train_exclude.keys();
}

std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

Dataset tiny(int64_t n, std::vector<Pair> edges, std::vector<int32_t> labels = {}) {
  Dataset d;
  d.name = "tiny";
  d.num_nodes = n;
  for (auto [a, b] : edges) d.src.push_back(a), d.dst.push_back(b), d.src.push_back(b), d.dst.push_back(a);
  d.labels = std::move(labels);
  return d;
}

}  // namespace

TEST_CASE("link split on communities: 80/10/10 of the edges, equal non-edge negatives, train-only graph") {
  const Dataset d = builtin_dataset("communities-T");
  const std::set<Pair> edges = undirected_edges(d.src, d.dst);
  REQUIRE(edges.size() == 3800);
  const LinkSplit s = make_link_split(d, 7);
  CHECK(s.task == Task::LinkPrediction);
  CHECK(s.num_nodes == 400);
  CHECK(s.labels.empty());
  auto [trp, trn] = parts_of(s.train);
  auto [vap, van] = parts_of(s.val);
  auto [tep, ten] = parts_of(s.test);
  CHECK(trp.size() == 3040);
  CHECK(vap.size() == 380);
  CHECK(tep.size() == 380);
  // Positives: the edges, each exactly once; negatives: non-edges, no pair twice anywhere.
  std::set<Pair> pos, all;
  for (const auto* v : {&trp, &vap, &tep}) pos.insert(v->begin(), v->end());
  CHECK(pos == edges);
  size_t total = 0;
  for (const auto* v : {&trp, &vap, &tep, &trn, &van, &ten}) all.insert(v->begin(), v->end()), total += v->size();
  CHECK(all.size() == total);
  bool non_edges = true;
  for (const auto* v : {&trn, &van, &ten})
    for (const Pair& p : *v) non_edges = non_edges && !edges.count(p);
  CHECK(non_edges);
  // Message passing: train positives in both directions, nothing held out.
  CHECK(s.src.size() == 2 * 3040);
  CHECK(undirected_edges(s.src, s.dst) == std::set<Pair>(trp.begin(), trp.end()));
  std::set<Pair> directed;
  for (size_t i = 0; i < s.src.size(); ++i) directed.emplace(s.src[i], s.dst[i]);
  CHECK(directed.size() == s.src.size());
  for (const Pair& p : vap) CHECK_FALSE(directed.count(p));
  // train_exclude: train positives + every val/test pair.
  CHECK(s.train_exclude.size() == 3040 + 2 * 380 + 2 * 380);
  CHECK(s.train_exclude.contains(trp[5].second, trp[5].first));
  CHECK(s.train_exclude.contains(van[3].first, van[3].second));
  CHECK_FALSE(s.train_exclude.contains(trn[0].first, trn[0].second));
}

TEST_CASE("link split: deterministic per seed, other fractions, grid") {
  const Dataset d = builtin_dataset("grid");
  const LinkSplit a = make_link_split(d, 3), b = make_link_split(d, 3), c = make_link_split(d, 4);
  CHECK(same(a, b));
  CHECK_FALSE(same(a, c));
  CHECK(a.train.num_positive() == 608);  // 760 − 76 − 76
  CHECK(a.val.num_positive() == 76);
  const LinkSplit e = make_link_split(d, 3, 0.25, 0.0);
  CHECK(e.val.num_positive() == 190);
  CHECK(e.test.size() == 0);
  CHECK(e.train.num_positive() == 570);
  // A directed input is read as undirected; self loops are dropped; duplicates merged.
  Dataset dir;
  dir.name = "dir", dir.num_nodes = 30, dir.directed = true;
  for (int32_t i = 0; i < 30; ++i) dir.src.push_back(i), dir.dst.push_back((i + 1) % 30);
  dir.src.push_back(4), dir.dst.push_back(3);  // reverse of 3->4
  dir.src.push_back(7), dir.dst.push_back(7);
  const LinkSplit ds = make_link_split(dir, 0);
  CHECK(ds.train.num_positive() + ds.val.num_positive() + ds.test.num_positive() == 30);
}

TEST_CASE("pair split on communities: same-community positives, different-community negatives, all edges kept") {
  const Dataset d = builtin_dataset("communities");
  const PairSplit s = make_pair_split(d, 1);
  CHECK(s.task == Task::PairClassification);
  CHECK(s.src == d.src);
  CHECK(s.dst == d.dst);
  CHECK(s.labels == d.labels);
  auto [trp, trn] = parts_of(s.train);
  auto [vap, van] = parts_of(s.val);
  auto [tep, ten] = parts_of(s.test);
  CHECK(trp.size() == 3040);  // 20 · C(20, 2) = 3800 same-label pairs
  CHECK(vap.size() == 380);
  CHECK(tep.size() == 380);
  std::set<Pair> all;
  size_t total = 0;
  bool labels_ok = true;
  for (const auto* v : {&trp, &vap, &tep})
    for (const Pair& p : *v) labels_ok = labels_ok && d.labels[p.first] == d.labels[p.second];
  for (const auto* v : {&trn, &van, &ten})
    for (const Pair& p : *v) labels_ok = labels_ok && d.labels[p.first] != d.labels[p.second];
  CHECK(labels_ok);
  for (const auto* v : {&trp, &vap, &tep, &trn, &van, &ten}) all.insert(v->begin(), v->end()), total += v->size();
  CHECK(all.size() == total);
  CHECK(same(s, make_pair_split(d, 1)));
  CHECK_FALSE(same(s, make_pair_split(d, 2)));
  // make_task_split dispatches on the task.
  CHECK(same(make_task_split(d, Task::PairClassification, 1), s));
  CHECK(same(make_task_split(d, Task::LinkPrediction, 1), make_link_split(d, 1)));
  CHECK(input_error([&] { make_task_split(d, Task::NodeClassification, 1); }).find("node_classification") !=
        std::string::npos);
}

TEST_CASE("pair split: the positive-pair cap subsamples, both by listing and by rejection") {
  const Dataset d = builtin_dataset("grid-T");  // 4 quadrants of 100: 19800 same-label pairs
  CHECK(make_pair_split(d, 0).train.num_positive() == 19800 - 2 * 1980);
  for (int64_t cap : {15000, 1000}) {  // 15000: listed + partial shuffle; 1000: rejection
    CAPTURE(cap);
    const PairSplit s = make_pair_split(d, 5, 0.1, 0.1, cap);
    std::set<Pair> pos;
    bool same_label = true;
    for (const PairPart* p : {&s.train, &s.val, &s.test}) {
      auto [pp, nn] = parts_of(*p);
      for (const Pair& q : pp) same_label = same_label && d.labels[q.first] == d.labels[q.second], pos.insert(q);
    }
    CHECK(same_label);
    CHECK(static_cast<int64_t>(pos.size()) == cap);
    CHECK(s.val.num_positive() == cap / 10);
    // Every quadrant is represented about in proportion (a quarter each).
    std::map<int32_t, int> per;
    for (const Pair& q : pos) ++per[d.labels[q.first]];
    for (auto [c, k] : per) CHECK(std::abs(k - cap / 4) < cap / 10);
    CHECK(same(s, make_pair_split(d, 5, 0.1, 0.1, cap)));
  }
  // Unlabelled nodes take no part.
  Dataset u = tiny(6, {{0, 1}}, {0, 0, -1, 1, 1, -1});
  const PairSplit su = make_pair_split(u, 0, 0.0, 0.0);
  auto [pp, nn] = parts_of(su.train);
  CHECK(std::set<Pair>(pp.begin(), pp.end()) == std::set<Pair>{{0, 1}, {3, 4}});
  for (const Pair& q : nn) CHECK((u.labels[q.first] >= 0 && u.labels[q.second] >= 0));
}

TEST_CASE("sample_negatives: distinct, outside the exclusions, uniform; dense and labelled cases") {
  const Dataset d = builtin_dataset("communities-T");
  const EdgeSet edges(d.src, d.dst);
  CHECK(edges.size() == 3800);
  const PairPart n = sample_negatives(400, edges, 5000, 9);
  CHECK(n.size() == 5000);
  CHECK(n.num_positive() == 0);
  std::set<Pair> seen;
  bool ok = true;
  for (int64_t i = 0; i < n.size(); ++i) {
    ok = ok && n.u[i] < n.v[i] && n.v[i] < 400 && !edges.contains(n.u[i], n.v[i]);
    seen.emplace(n.u[i], n.v[i]);
  }
  CHECK(ok);
  CHECK(seen.size() == 5000);
  CHECK(same(n, sample_negatives(400, edges, 5000, 9)));
  // Dense: K6 minus three edges has exactly three non-edges; asking for all of them lists them.
  std::vector<int32_t> a, b;
  for (int32_t i = 0; i < 6; ++i)
    for (int32_t j = i + 1; j < 6; ++j)
      if (!((i == 0 && j == 1) || (i == 2 && j == 5) || (i == 3 && j == 4))) a.push_back(i), b.push_back(j);
  const PairPart all = sample_negatives(6, EdgeSet(a, b), 3, 1);
  std::set<Pair> got;
  for (int64_t i = 0; i < all.size(); ++i) got.emplace(all.u[i], all.v[i]);
  CHECK(got == std::set<Pair>{{0, 1}, {2, 5}, {3, 4}});
  CHECK(input_error([&] { sample_negatives(6, EdgeSet(a, b), 4, 1); }).find("only 3 pairs") != std::string::npos);
  // Uniform: 5 nodes, 10 pairs, 2 drawn per seed over 500 seeds → each pair about 100 times.
  std::map<Pair, int> count;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    const PairPart p = sample_negatives(5, EdgeSet{}, 2, seed);
    for (int64_t i = 0; i < p.size(); ++i) ++count[{p.u[i], p.v[i]}];
  }
  CHECK(count.size() == 10);
  for (auto [q, k] : count) CHECK((k > 60 && k < 140));
  // With labels: only labelled pairs with different labels.
  const std::vector<int32_t> lab{0, 0, 1, 1, -1, 2};
  const PairPart pl = sample_negatives(6, EdgeSet{}, 8, 3, lab);  // 5 labelled: C(5,2) − 2 = 8 qualify
  std::set<Pair> lp;
  for (int64_t i = 0; i < pl.size(); ++i) lp.emplace(pl.u[i], pl.v[i]);
  CHECK(lp == std::set<Pair>{{0, 2}, {0, 3}, {0, 5}, {1, 2}, {1, 3}, {1, 5}, {2, 5}, {3, 5}});
  CHECK_THROWS_AS(sample_negatives(6, EdgeSet{}, 9, 3, lab), InputError);
}

TEST_CASE("resample_train_negatives: positives stay, negatives renewed outside train_exclude") {
  for (Task task : {Task::LinkPrediction, Task::PairClassification}) {
    CAPTURE(task_name(task));
    const Dataset d = builtin_dataset("communities");
    TaskSplit s = make_task_split(d, task, 2);
    const TaskSplit before = s;
    resample_train_negatives(s, 100);
    auto [p0, n0] = parts_of(before.train);
    auto [p1, n1] = parts_of(s.train);
    CHECK(p0 == p1);
    CHECK(n0 != n1);
    CHECK(same(s.val, before.val));
    bool ok = true;
    for (const Pair& q : n1) {
      ok = ok && !s.train_exclude.contains(q.first, q.second);
      if (task == Task::PairClassification) ok = ok && d.labels[q.first] != d.labels[q.second];
    }
    CHECK(ok);
    CHECK(std::set<Pair>(n1.begin(), n1.end()).size() == n1.size());
    TaskSplit again = before;
    resample_train_negatives(again, 100);
    CHECK(same(again, s));
  }
}

TEST_CASE("task splits: input errors") {
  const Dataset no_edges = tiny(5, {});
  CHECK(input_error([&] { make_link_split(no_edges, 0); }).find("needs edges") != std::string::npos);
  Dataset loops = tiny(5, {});
  loops.src = {1, 2}, loops.dst = {1, 2};
  CHECK(input_error([&] { make_link_split(loops, 0); }).find("self loops aside") != std::string::npos);
  // K4: 6 edges, no non-edges.
  const Dataset k4 = tiny(4, {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}});
  CHECK(input_error([&] { make_link_split(k4, 0); }).find("too few non-edges") != std::string::npos);
  const Dataset two = tiny(2, {{0, 1}});
  CHECK(input_error([&] { make_link_split(two, 0); }).find("too few non-edges") != std::string::npos);
  const Dataset path = tiny(20, {{0, 1}, {1, 2}, {2, 3}});
  CHECK(input_error([&] { make_link_split(path, 0, 0.5, 0.5); }).find("bad split fractions") != std::string::npos);
  CHECK(input_error([&] { make_link_split(path, 0, -0.1, 0.1); }).find("bad split fractions") != std::string::npos);
  CHECK(input_error([&] { make_link_split(tiny(20, {{0, 1}}), 0, 0.5, 0.0); }).find("no edges left for training") !=
        std::string::npos);
  CHECK(input_error([&] { make_link_split(sentence_probe(), 0); }).find("edge list") != std::string::npos);
  // Pairs.
  CHECK(input_error([&] { make_pair_split(path, 0); }).find("needs node labels") != std::string::npos);
  CHECK(input_error([&] { make_pair_split(tiny(4, {}, {0, 1, 2, 3}), 0); }).find("no two nodes share a label") !=
        std::string::npos);
  CHECK(input_error([&] { make_pair_split(tiny(4, {}, {1, 1, 1, 1}), 0); }).find("too few pairs with different labels") !=
        std::string::npos);
  CHECK(input_error([&] { make_pair_split(tiny(4, {}, {0, 0, 1, 1}), 0, 0.1, 0.1, 0); }).find("cap") !=
        std::string::npos);
  // A pair task needs no edges.
  CHECK(make_pair_split(tiny(6, {}, {0, 0, 0, 1, 1, 1}), 0, 0.0, 0.0).train.num_positive() == 6);
}
