// Node reordering for locality (dataset.reorder): a permutation of one graph's node ids that
// puts neighbours near each other, so that SpMM's gathers of neighbour rows hit cache. Training
// runs on the renumbered graph; train/problem.cpp keeps the permutation and every output goes
// back to the original ids.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "datasets/dataset.hpp"

namespace locus {

// none: the ids as loaded; rcm: reverse Cuthill–McKee (Boost.Graph; bandwidth-reducing BFS from a
// pseudo-peripheral node of each component); degree: decreasing degree, ties by id (hubs, whose
// rows are read most, share cache lines and pages); metis: METIS's nested dissection
// (METIS_NodeND, seed 0: deterministic).
enum class Reorder { None, Rcm, Degree, Metis };

const std::vector<std::string>& reorder_names();  // "none", "rcm", "degree", "metis": one per Reorder, in order
Reorder parse_reorder(const std::string& name);   // InputError naming the choices for another name

// The new order of g's nodes: order[new id] = old id, a permutation of [0, n). g must be square;
// its edges are read as undirected (a directed edge counts for both ends). None gives the identity.
std::vector<int32_t> node_order(const Csr& g, Reorder kind);

// Renumbers a one-graph dataset's nodes by `order` (order[new] = old): edges, feature rows, labels,
// node names and the split's ids (each split keeps its listed order, ids mapped). Edge i keeps its
// place in src / dst / weight, with both ends mapped. Needs ds one graph (no graphs, no sentences).
void renumber_nodes(Dataset& ds, const std::vector<int32_t>& order);

}  // namespace locus
