// Evaluation metrics that are not differentiable ops: ROC AUC for the pair tasks (link
// prediction and pairwise node classification score with it, GIR.md "Tasks and protocol"), and
// the class-weighted accuracy of the benchmarking-GNNs' PATTERN and CLUSTER.
#pragma once
#include <cstdint>
#include <span>

namespace locus {

// Area under the ROC curve, exactly: the probability that a random positive scores above a
// random negative, ties counting 1/2 (the Mann-Whitney U statistic, as sklearn's roc_auc_score):
//   AUC = (Σ_{i positive} rank_i − n₊(n₊+1)/2) / (n₊ n₋),
// rank_i the 1-based rank of score i in ascending order, tied scores sharing their average rank.
// O(P log P) (one sort). labels: 1 positive, 0 negative, one per score.
// Errors (InputError): sizes differ, a label other than 0/1, a NaN score, or only one class
// present (the AUC is undefined then; the message says how many of each there are).
double roc_auc(std::span<const double> scores, std::span<const int> labels);
double roc_auc(std::span<const float> scores, std::span<const int> labels);  // converts to double

// Class-weighted accuracy: the mean, over the classes present among the true labels, of each
// class's recall, (1/|C|) Σ_{c∈C} correct_c / total_c with C = {c : total_c > 0} (balanced
// accuracy). correct[c] and total[c] count a class's correctly predicted and labelled items (e.g.
// summed over ranks); the spans have one entry per class. NaN when no class is present.
double class_weighted_accuracy(std::span<const int64_t> correct, std::span<const int64_t> total);

}  // namespace locus
