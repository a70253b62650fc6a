// Evaluation metrics that are not differentiable ops: ROC AUC for the pair tasks (link
// prediction and pairwise node classification score with it, GIR.md "Tasks and protocol").
#pragma once
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

}  // namespace locus
