#!/usr/bin/python3
"""Plain-PyTorch reference of Locus's node classifiers on datasets of many graphs (PATTERN, CLUSTER),
trained in mini-batches of graphs, for side-by-side benchmarks with Locus.

No PyTorch Geometric: the graphs, the batches and the message passing are built here in plain torch
from a dataset in the Locus dataset-YAML schema with a graphs: section (as `locus generate pattern`
writes one), and the hyper-parameters come from the same Locus config file `locus train` reads:

  /usr/bin/python3 bench/graph_reference.py --config pattern.yaml --dataset DIR/dataset.yaml \
      --threads 2 --json out.json [key=value ...]

Config keys: Locus's schema, read from the Locus program (LOCUS_BIN or build/locus) through
bench/reference.py, whose YAML and key=value reading this script shares; an unknown key is an
error. Honoured: dataset.path, dataset.features (file | constant), dataset.feature_norm,
gnn.layer_type (gcn | gatedgcn), gnn.layers_mp, gnn.dim_inner, gnn.act, gnn.dropout, gnn.norm,
gnn.residual (gcn; when the Locus program has the key), optim.optimizer, optim.base_lr,
optim.weight_decay, optim.weight_decay_on, optim.clip_grad_norm, optim.max_epoch, train.batch_size,
train.patience, train.select, train.metric, train.class_weights, seed, num_runs (the last keys
where the Locus program has them); --threads sets the threads. Every other key that
changes results must keep its default (the reference would train another model than Locus).
`key=value` arguments override the file; --dataset, --runs, --seed and --epochs override
dataset.path, num_runs, seed and optim.max_epoch.

Mini-batches as Locus's (datasets/graph_batch.*, train/trainer.cpp): every epoch the training
graphs are shuffled (torch.randperm, seeded per run) and cut into batches of train.batch_size
graphs (0: 128), the last one shorter; a batch is the disjoint union of its graphs, one
block-diagonal graph on batch node ids built from edge-index tensors (each graph's nodes in
increasing id, its edges sorted by (destination, source) once at load time, so every batch's
edge list is already sorted and its sparse matrices are built without a sort); the loss is the
NLL, averaged over the batch's labelled nodes. Evaluation (no dropout, BatchNorm on its running
statistics) runs the validation and test graphs in batches of train.batch_size, in graph order.
train.class_weights=complement weighs each batch's loss by class as Locus does (class c by
(n − n_c) / n over the batch's labelled nodes, the benchmarking-GNNs PATTERN / CLUSTER loss), and
train.metric=wacc scores the mean per-class recall instead of the accuracy.

The models are Locus's GnnClassifier (layers/gnn.cpp) layer for layer:
  * gcn, plain stack: gnn.layers_mp GCN layers; dropout (gnn.dropout) before every layer, the
    input included; gnn.act between layers; widths in → dim_inner ... → classes
  * gcn with gnn.residual: dropout on the input, encoder Linear(in → d), then per layer
    h ← dropout(h + act(Norm(GCN(h)))), head Linear(d → classes); Norm is gnn.norm
  * GCN(h) = Â h W + b, Â = D^-1/2 (A + I) D^-1/2 of the batch graph (a self loop of weight 1
    added on each node without one; its term applied as a diagonal, D^-1 h, beside the sparse
    product of the other edges)
  * gatedgcn (Structure::Residual, layers/gated_gcn.hpp): dropout on the input, encoder
    Linear(in → d); edge state e⁰ = 1·W_e + b_e (a learned vector on every edge); per layer,
    for an edge j → i: ê_ij = C e_ij + D h_i + E h_j, σ = sigmoid(ê),
    h̃_i = A h_i + Σ_j σ_ij ⊙ B h_j / (Σ_j σ_ij + 1e-6),
    h ← h + dropout(act(Norm(h̃))), e ← e + dropout(act(Norm(ê))) (Norm over nodes / edges),
    the last layer without its edge update (and without its edge norm); head Linear(d → classes);
    edge weights ignored. Message passing on edge-index tensors: index_select for the gathers
    of h by source and destination, and a sparse incidence matrix [n, E] (torch.sparse.mm,
    parallel and about twice as fast as index_add_ here) for the sums over each destination's
    in-edges, with the matching gathers / sums as their gradients
  * Norm: batch = torch.nn.BatchNorm1d (momentum 0.1, eps 1e-5, γ = 1, β = 0), layer =
    torch.nn.LayerNorm (eps 1e-5), none
  * log-softmax at the end; Linear maps Glorot-uniform (bound sqrt(6 / (fan_in + fan_out))) with
    zero biases, as Locus's Linear
  * weight decay (L2 in the gradient for adam and sgd, decoupled for adamw) as Locus's flags:
    optim.weight_decay_on first = the first layer (the encoder of a residual stack) only, all =
    every Linear map; the norms' γ and β never
  * optim.max_epoch epochs; after every epoch an evaluation gives validation and test accuracy
    (train.metric, over the labelled nodes of the split's graphs); a run reports the test
    accuracy of the epoch chosen by train.select (val_acc: first epoch of best validation
    accuracy; val_acc_loss: the GAT paper's rule), as `locus train`, and the last epoch's too
  * run r uses seed S + r (torch.manual_seed); Locus uses its own generator, so the two agree in
    distribution over seeds, not run by run

Timing: each training epoch (shuffle, building every batch: node and edge gathers, normalised
adjacency or incidence matrices, feature rows; forward, loss, backward, optimizer step;
evaluation excluded) is timed with time.perf_counter; the first min(10, epochs / 5) epochs of
every run are warm-up and discarded (as `locus train`); epoch_ms_median is the median over the
remaining epochs of all runs, and graphs_per_s = training graphs / median epoch seconds.
peak_rss_mib is the process's peak resident set (getrusage ru_maxrss), which includes the
Python interpreter and the torch library (rss_after_import_mib: the peak before the dataset is
read) and the dataset. Dense matrix products go through the BLAS library torch loads (the
system's libblas.so.3 alternative; LD_LIBRARY_PATH can put another first); the JSON's `blas`
lists the libraries actually loaded.

JSON keys: test_acc_mean, test_acc_std (fractions, of train.metric: `metric` says which; population
std over runs), val_acc_mean,
last_val_acc_mean, last_test_acc_mean (the last epoch's), epoch_ms_median, graphs_per_s,
peak_rss_mib, num_params, num_train_graphs, config (the effective keys), runs (a list of {seed,
test_acc, val_acc, best_epoch, epochs_run, last_val_acc, last_test_acc, epoch_ms_median,
losses}), plus descriptive extras.

Reads `ids: index` datasets with `edges` (whitespace/tab/comma delimiter, comment, weighted,
duplicates merge, self_loops keep/drop, .gz), `features` (dense or sparse) or none, `labels`
(integer classes), `graphs.path` (lines 'node graph', ids 0..G-1) and a split given as three
files of graph ids. Anything else is reported as unsupported.
"""

import math
import os
import platform
import re
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402  (YAML, config schema, dropout, activations, BLAS report)
from reference import ConfigError, DatasetError  # noqa: E402

import numpy as np  # noqa: E402  (python3-numpy, a dependency of python3-torch)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SUPPORTED = ("gcn", "gatedgcn")
HONOURED = {"dataset.path", "dataset.features", "dataset.feature_norm", "gnn.layer_type", "gnn.layers_mp",
            "gnn.dim_inner", "gnn.act", "gnn.dropout", "gnn.norm", "gnn.residual", "optim.optimizer",
            "optim.base_lr", "optim.weight_decay", "optim.weight_decay_on", "optim.clip_grad_norm",
            "optim.max_epoch", "train.batch_size", "train.patience", "train.select", "train.metric",
            "train.class_weights", "seed", "num_runs"}


# --------------------------------------------------------------------------- data files
def _numbers(path, cols, delimiter="whitespace", comment="#", dtype=np.int64):
    """A table file of `cols` numbers per line as an array [lines, cols] (blank lines and lines
    starting with the comment string skipped). numpy parses the whole text at once: a line-by-line
    Python parse of PATTERN's millions of edges would take longer than the training."""
    if delimiter not in ("whitespace", "tab", "comma"):
        raise DatasetError("%s: unsupported delimiter %r (whitespace | tab | comma)" % (path, delimiter))
    if not os.path.exists(path):
        raise DatasetError("missing file: %s" % path)
    with ref._open_text(path) as f:
        text = f.read()
    if comment and comment in text:
        text = re.sub(r"(?m)^[ \t]*" + re.escape(comment) + r".*\n?", "", text)
    if delimiter == "comma":
        text = text.replace(",", " ")
    arr = np.fromstring(text, dtype=dtype, sep=" ") if text.strip() else np.zeros(0, dtype=dtype)
    lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    if arr.size != lines * cols:  # blank lines, or a malformed one: count and check line by line
        lines = [ln for ln in text.splitlines() if ln.strip()]
        for lineno, ln in enumerate(lines, 1):
            if len(ln.split()) != cols:
                raise DatasetError("%s: line %d (not counting comments and blank lines) has %d fields, expected %d: %r"
                                   % (path, lineno, len(ln.split()), cols, ln))
        if arr.size != len(lines) * cols:
            raise DatasetError("%s: cannot read %d numbers per line (a value that is not a number?)" % (path, cols))
    return arr.reshape(-1, cols)


def load_graph_dataset(yaml_path, features_mode="file"):
    """The dataset as tensors: x [N, F] dense, y [N] (-1 unlabelled), graph_of [N], the directed
    edges (dst, src, w) without duplicates, and the train / val / test graph ids."""
    cfg = ref.load_yaml(yaml_path)
    base = os.path.dirname(os.path.abspath(yaml_path))

    def rel(p):
        return p if os.path.isabs(p) else os.path.join(base, p)

    def fmt(section):
        return section.get("delimiter", "whitespace"), section.get("comment", "#")

    if cfg.get("format", "edge_list") != "edge_list":
        raise DatasetError("%s: format %s is not supported by the reference" % (yaml_path, cfg.get("format")))
    if cfg.get("ids", "index") != "index":
        raise DatasetError("%s: ids: %s is not supported by the reference (index only)" % (yaml_path, cfg.get("ids")))
    if "nodes" in cfg:
        raise DatasetError("%s: a `nodes` table is not supported by the reference" % yaml_path)
    task = cfg.get("task", "node_classification")
    if task != "node_classification":
        raise DatasetError("%s: task %s is not supported by the reference (node_classification on many graphs)"
                           % (yaml_path, task))
    g = cfg.get("graphs")
    if not isinstance(g, dict) or "path" not in g:
        raise DatasetError("%s: the reference needs a `graphs: {path: graphs.tsv}` section (a dataset of many "
                           "graphs); for one graph use bench/reference.py" % yaml_path)

    # Graph of each node.
    gn = _numbers(rel(g["path"]), 2, *fmt(g))
    num_nodes = int(cfg.get("num_nodes") or 0)
    max_id = int(gn[:, 0].max()) if len(gn) else -1
    labels_s = cfg.get("labels")
    if not isinstance(labels_s, dict) or "path" not in labels_s:
        raise DatasetError("%s: `labels.path` is required for node classification" % yaml_path)
    lab = _numbers(rel(labels_s["path"]), 2, *fmt(labels_s))
    e = cfg.get("edges")
    if not isinstance(e, dict) or "path" not in e:
        raise DatasetError("%s: `edges.path` is required" % yaml_path)
    weighted = bool(e.get("weighted", False))
    ed = _numbers(rel(e["path"]), 3 if weighted else 2, *fmt(e), dtype=np.float64 if weighted else np.int64)
    src = ed[:, 0].astype(np.int64)
    dst = ed[:, 1].astype(np.int64)
    w = ed[:, 2].astype(np.float32) if weighted else np.ones(len(ed), dtype=np.float32)
    if weighted and not np.isfinite(w).all():
        raise DatasetError("%s: a non-finite edge weight" % rel(e["path"]))
    max_id = max(max_id, int(lab[:, 0].max()) if len(lab) else -1, int(ed[:, :2].max()) if len(ed) else -1)

    feat = cfg.get("features")
    fx = None
    if feat and features_mode == "file":
        fpath = rel(feat["path"])
        if feat.get("format", "dense") == "dense":
            with ref._open_text(fpath) as f:
                first = next((ln for ln in f if ln.strip() and not ln.lstrip().startswith(feat.get("comment", "#"))), "")
            cols = len(first.replace(",", " ").split()) if feat.get("delimiter") == "comma" else len(first.split())
            if cols < 2:
                raise DatasetError("%s: expected 'node value ...' lines" % fpath)
            dim = int(feat.get("dim", cols - 1))
            t = _numbers(fpath, dim + 1, *fmt(feat), dtype=np.float64)
            fx = ("dense", t[:, 0].astype(np.int64), t[:, 1:], dim)
        elif feat.get("format") == "sparse":
            dim = int(feat["dim"])
            t = _numbers(fpath, 3, *fmt(feat), dtype=np.float64)
            fx = ("sparse", t[:, 0].astype(np.int64), t, dim)
        else:
            raise DatasetError("%s: features.format %r (sparse | dense)" % (yaml_path, feat.get("format")))
        max_id = max(max_id, int(fx[1].max()) if len(fx[1]) else -1)
    num_nodes = num_nodes or max_id + 1
    if max_id >= num_nodes or (len(gn) and gn[:, 0].min() < 0) or (len(ed) and ed[:, :2].min() < 0):
        raise DatasetError("%s: a node id outside [0, num_nodes = %d)" % (yaml_path, num_nodes))

    graph_of = np.full(num_nodes, -1, dtype=np.int64)
    graph_of[gn[:, 0]] = gn[:, 1]
    if (graph_of < 0).any():
        raise DatasetError("%s: node %d has no graph" % (rel(g["path"]), int(np.argmax(graph_of < 0))))
    num_graphs = int(graph_of.max()) + 1
    if np.bincount(graph_of, minlength=num_graphs).min() == 0:
        raise DatasetError("%s: graph ids have gaps (every id in 0..%d needs a node)" % (rel(g["path"]), num_graphs - 1))

    y = np.full(num_nodes, -1, dtype=np.int64)
    y[lab[:, 0]] = lab[:, 1]
    num_classes = int(labels_s.get("num_classes") or (int(lab[:, 1].max()) + 1))
    if len(lab) and (lab[:, 1].min() < 0 or lab[:, 1].max() >= num_classes):
        raise DatasetError("%s: a label outside [0, %d)" % (rel(labels_s["path"]), num_classes))

    # Edges: both directions unless directed; self loops per `self_loops`; duplicates merged (last
    # weight wins, as Locus's loader).
    loops = e.get("self_loops", "keep")
    if loops == "drop":
        keep = src != dst
        src, dst, w = src[keep], dst[keep], w[keep]
    elif loops == "error" and (src == dst).any():
        raise DatasetError("%s: self loop on node %d" % (rel(e["path"]), int(src[np.argmax(src == dst)])))
    if not bool(cfg.get("directed", False)):
        nl = src != dst
        src, dst, w = np.concatenate([src, dst[nl]]), np.concatenate([dst, src[nl]]), np.concatenate([w, w[nl]])
    # One edge per (dst, src): sorted by that key, the last of equal keys kept.
    key = torch.from_numpy(dst * num_nodes + src)
    key, order = torch.sort(key, stable=True)
    last = torch.ones(len(key), dtype=torch.bool)
    last[:-1] = key[1:] != key[:-1]
    if e.get("duplicates", "merge") == "error" and not bool(last.all()):
        raise DatasetError("%s: duplicate edges" % rel(e["path"]))
    pick = order[last].numpy()
    src, dst, w = src[pick], dst[pick], w[pick]
    if (graph_of[src] != graph_of[dst]).any():
        k = int(np.argmax(graph_of[src] != graph_of[dst]))
        raise DatasetError("%s: edge %d -> %d joins graphs %d and %d" % (rel(e["path"]), src[k], dst[k],
                                                                         graph_of[src[k]], graph_of[dst[k]]))

    if fx is None:  # dataset.features constant, or no features: one column of ones (as Locus)
        x = torch.ones(num_nodes, 1, dtype=torch.float32)
    elif fx[0] == "dense":
        x = torch.zeros(num_nodes, fx[3], dtype=torch.float32)
        x[torch.from_numpy(fx[1])] = torch.from_numpy(fx[2]).float()
    else:
        t = fx[2]
        x = torch.zeros(num_nodes, fx[3], dtype=torch.float32)
        x[torch.from_numpy(t[:, 0].astype(np.int64)), torch.from_numpy(t[:, 1].astype(np.int64))] = \
            torch.from_numpy(t[:, 2]).float()

    split = cfg.get("split")
    if not isinstance(split, dict) or not all(isinstance(split.get(k), str) for k in ("train", "val", "test")):
        raise DatasetError("%s: the reference supports only `split: {train: FILE, val: FILE, test: FILE}` of "
                           "graph ids" % yaml_path)
    parts = {}
    for k in ("train", "val", "test"):
        ids = _numbers(rel(split[k]), 1).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= num_graphs):
            raise DatasetError("%s: a graph id outside [0, %d)" % (rel(split[k]), num_graphs))
        parts[k] = torch.from_numpy(ids.astype(np.int64))
    return dict(name=cfg.get("name", os.path.basename(base)), x=x, y=torch.from_numpy(y),
                graph_of=torch.from_numpy(graph_of), num_graphs=num_graphs, num_nodes=num_nodes,
                num_classes=num_classes, dst=torch.from_numpy(dst), src=torch.from_numpy(src),
                w=torch.from_numpy(w), **parts)


# --------------------------------------------------------------------------- batches
class GraphIndex:
    """Each graph's nodes (increasing id) and edges (sorted by destination, then source), found once:
    graph g holds node_order[node_ptr[g]:node_ptr[g+1]] and the edges at positions
    [edge_ptr[g], edge_ptr[g+1]) of e_dst / e_src / e_w (ends as positions in their graph). The
    same ranges in source order: edge t_perm[p] (a position within its graph) is the p-th edge
    of the graph by (source, destination), which gives every batch its transposed matrices
    without a sort."""

    def __init__(self, data):
        n, g = data["num_nodes"], data["num_graphs"]
        graph_of, dst, src = data["graph_of"], data["dst"], data["src"]
        self.node_order = torch.sort(graph_of, stable=True).indices
        self.node_ptr = torch.zeros(g + 1, dtype=torch.long)
        self.node_ptr[1:] = torch.bincount(graph_of, minlength=g).cumsum(0)
        local = torch.empty(n, dtype=torch.long)
        local[self.node_order] = torch.arange(n) - self.node_ptr[graph_of[self.node_order]]
        eg = graph_of[dst]

        def order(major, minor):
            o = torch.sort(major * n + minor, stable=True).indices
            return o[torch.sort(eg[o], stable=True).indices]

        by_dst, by_src = order(dst, src), order(src, dst)
        self.edge_ptr = torch.zeros(g + 1, dtype=torch.long)
        self.edge_ptr[1:] = torch.bincount(eg, minlength=g).cumsum(0)
        self.e_dst, self.e_src, self.e_w = local[dst[by_dst]], local[src[by_dst]], data["w"][by_dst]
        at = torch.empty_like(by_dst)
        at[by_dst] = torch.arange(len(by_dst))
        self.t_perm = at[by_src] - self.edge_ptr[eg[by_src]]


def _ranges(ptr, ids):
    """Positions [ptr[g], ptr[g+1]) of the graphs `ids`, concatenated; their counts; each graph's
    offset in the concatenation; and, for every position, its graph's offset."""
    count = ptr[ids + 1] - ptr[ids]
    offset = torch.zeros(len(ids) + 1, dtype=torch.long)
    offset[1:] = count.cumsum(0)
    total = int(offset[-1])
    shift = torch.repeat_interleave(offset[:-1], count, output_size=total)
    pos = torch.repeat_interleave(ptr[ids], count, output_size=total) + torch.arange(total) - shift
    return pos, count, offset, shift


class Batch:
    """The disjoint union of graphs `ids` (in that order): nodes (dataset ids, graph after graph),
    edges on batch ids sorted by (dst, src), tq (the batch positions of the edges in (src, dst)
    order), and the sparse matrices a layer type asks for (built lazily, once per batch)."""

    def __init__(self, index, ids):
        pos, _, noff, nshift = _ranges(index.node_ptr, ids)
        self.nodes = index.node_order[pos]
        self.n = len(self.nodes)
        epos, ecount, eoff, _ = _ranges(index.edge_ptr, ids)
        shift = torch.repeat_interleave(noff[:-1], ecount, output_size=len(epos))
        self.dst = index.e_dst[epos] + shift
        self.src = index.e_src[epos] + shift
        self.w = index.e_w[epos]
        self.tq = index.t_perm[epos] + torch.repeat_interleave(eoff[:-1], ecount, output_size=len(epos))
        self.num_edges = len(epos)
        self._cache = {}

    def gcn(self):
        """(Â without the added self loops, its transpose, the added loops' weights D^-1 [n, 1])."""
        if "gcn" not in self._cache:
            n, dst, src, w = self.n, self.dst, self.src, self.w
            loop = dst == src
            has_loop = torch.zeros(n, dtype=torch.bool)
            has_loop[dst[loop]] = True
            added = (~has_loop).float()
            deg = torch.bincount(dst, weights=w, minlength=n).float() + added
            dinv = deg.pow(-0.5)
            dinv[torch.isinf(dinv)] = 0.0
            vals = dinv[dst] * w * dinv[src]
            a = _coo(dst, src, vals, n, n)
            at = _coo(src[self.tq], dst[self.tq], vals[self.tq], n, n)
            self._cache["gcn"] = (a, at, (added * dinv * dinv).unsqueeze(1))
        return self._cache["gcn"]

    def incidence(self):
        """S_dst, S_src [n, E]: S_dst[i, e] = 1 where edge e ends at i, S_src where it starts."""
        if "inc" not in self._cache:
            n, m = self.n, self.num_edges
            ar = torch.arange(m)
            ones = torch.ones(m)
            self._cache["inc"] = (_coo(self.dst, ar, ones, n, m), _coo(self.src[self.tq], self.tq, ones, n, m))
        return self._cache["inc"]


def _coo(rows, cols, vals, n, m):
    """A sparse COO matrix from indices already sorted by (row, col) and unique: no coalesce."""
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, m))._coalesced_(True)


class _SpMM(torch.autograd.Function):
    """M @ X for a constant sparse M, its transpose given for the backward."""

    @staticmethod
    def forward(ctx, x, m, mt):
        ctx.mt = mt
        return torch.sparse.mm(m, x)

    @staticmethod
    def backward(ctx, g):
        return torch.sparse.mm(ctx.mt, g), None, None


class _Gather(torch.autograd.Function):
    """x[index] [E, d]; the gradient summed back per row by the incidence matrix of `index`."""

    @staticmethod
    def forward(ctx, x, index, incidence):
        ctx.incidence = incidence
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, g):
        return torch.sparse.mm(ctx.incidence, g), None, None


class _SumTo(torch.autograd.Function):
    """Σ of the rows of m [E, d] into their destination [n, d]; the gradient gathered back."""

    @staticmethod
    def forward(ctx, m, incidence, index):
        ctx.index = index
        return torch.sparse.mm(incidence, m)

    @staticmethod
    def backward(ctx, g):
        return g.index_select(0, ctx.index), None, None


# --------------------------------------------------------------------------- layers
class Linear(torch.nn.Module):
    """y = x W + b, W Glorot-uniform, b zeros (Locus's Linear)."""

    def __init__(self, d_in, d_out, decay=True):
        super().__init__()
        self.weight, self.bias = ref.glorot(d_in, d_out), ref.zeros(d_out)
        self.decay = decay

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight)


def make_norm(kind, d):
    if kind == "batch":
        return torch.nn.BatchNorm1d(d, momentum=0.1, eps=1e-5)
    if kind == "layer":
        return torch.nn.LayerNorm(d, eps=1e-5)
    if kind == "none":
        return torch.nn.Identity()
    raise ConfigError("gnn.norm %s has no reference here (batch | layer | none)" % kind)


class GCNConv(Linear):
    def forward(self, batch, h):
        a, at, self_w = batch.gcn()
        if self.weight.shape[1] > self.weight.shape[0]:  # widening: aggregate first (as Locus)
            ah = _SpMM.apply(h, a, at) + self_w * h
            return torch.addmm(self.bias, ah, self.weight)
        hw = h @ self.weight
        return _SpMM.apply(hw, a, at) + self_w * hw + self.bias


class GCNNet(torch.nn.Module):
    """Locus's GCN stack: plain (dropout, layer, act, ...) or residual (encoder, layers
    h ← dropout(h + act(Norm(GCN(h)))), head)."""

    def __init__(self, cfg, in_dim, num_classes):
        super().__init__()
        self.p, self.act = cfg["gnn.dropout"], ref.activation(cfg["gnn.act"])
        L, d = cfg["gnn.layers_mp"], cfg["gnn.dim_inner"]
        first_only = cfg["optim.weight_decay_on"] == "first"
        self.residual = bool(cfg.get("gnn.residual"))
        if self.residual:
            self.encoder = Linear(in_dim, d)
            self.convs = torch.nn.ModuleList(GCNConv(d, d, not first_only) for _ in range(L))
            self.norms = torch.nn.ModuleList(make_norm(cfg["gnn.norm"], d) for _ in range(L))
            self.head = Linear(d, num_classes, not first_only)
        else:
            dims = [in_dim] + [d] * (L - 1) + [num_classes]
            self.convs = torch.nn.ModuleList(GCNConv(dims[l], dims[l + 1], l == 0 or not first_only)
                                             for l in range(L))

    def forward(self, batch, x):
        drop = lambda h: ref.dropout(h, self.p, self.training)  # noqa: E731
        if self.residual:
            h = self.encoder(drop(x))
            for conv, norm in zip(self.convs, self.norms):
                h = drop(h + self.act(norm(conv(batch, h))))
            return F.log_softmax(self.head(h), dim=1)
        h = x
        for l, conv in enumerate(self.convs):
            h = conv(batch, drop(h))
            if l + 1 < len(self.convs):
                h = self.act(h)
        return F.log_softmax(h, dim=1)


class GatedGCNLayer(torch.nn.Module):
    def __init__(self, d, norm, act, p, update_edges, decay):
        super().__init__()
        self.A, self.B, self.C, self.D, self.E = (Linear(d, d, decay) for _ in range(5))
        self.norm_h = make_norm(norm, d)
        self.norm_e = make_norm(norm, d) if update_edges else None
        self.act, self.p, self.update_edges = act, p, update_edges

    def forward(self, batch, h, e):
        s_dst, s_src = batch.incidence()
        # ê_ij = C e_ij + D h_i + E h_j  (i = destination, j = source)
        e_hat = self.C(e) + _Gather.apply(self.D(h), batch.dst, s_dst) + _Gather.apply(self.E(h), batch.src, s_src)
        sigma = torch.sigmoid(e_hat)
        num = _SumTo.apply(sigma * _Gather.apply(self.B(h), batch.src, s_src), s_dst, batch.dst)  # Σ σ ⊙ B h_j
        den = _SumTo.apply(sigma, s_dst, batch.dst)                                               # Σ σ
        h_tilde = self.A(h) + num / (den + 1e-6)
        h = h + ref.dropout(self.act(self.norm_h(h_tilde)), self.p, self.training)
        if self.update_edges and batch.num_edges > 0:
            e = e + ref.dropout(self.act(self.norm_e(e_hat)), self.p, self.training)
        return h, e


class GatedGCNNet(torch.nn.Module):
    def __init__(self, cfg, in_dim, num_classes):
        super().__init__()
        self.p = cfg["gnn.dropout"]
        L, d = cfg["gnn.layers_mp"], cfg["gnn.dim_inner"]
        rest = cfg["optim.weight_decay_on"] != "first"
        act = ref.activation(cfg["gnn.act"])
        self.encoder = Linear(in_dim, d)
        self.edge_encoder = Linear(1, d, rest)
        self.layers = torch.nn.ModuleList(GatedGCNLayer(d, cfg["gnn.norm"], act, self.p, l + 1 < L, rest)
                                          for l in range(L))
        self.head = Linear(d, num_classes, rest)

    def forward(self, batch, x):
        h = self.encoder(ref.dropout(x, self.p, self.training))
        # e⁰ = 1 · W_e + b_e on every edge
        e = (self.edge_encoder.weight + self.edge_encoder.bias).expand(batch.num_edges, -1)
        for layer in self.layers:
            h, e = layer(batch, h, e)
        return F.log_softmax(self.head(h), dim=1)


def param_groups(model, wd):
    decay, no_decay = [], []
    for m in model.modules():
        if isinstance(m, Linear):
            (decay if m.decay else no_decay).extend([m.weight, m.bias])
        elif isinstance(m, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)):
            no_decay.extend(m.parameters())
    assert len(decay) + len(no_decay) == len(list(model.parameters()))
    return [dict(params=decay, weight_decay=wd), dict(params=no_decay, weight_decay=0.0)]


def make_optimizer(cfg, model):
    groups = param_groups(model, cfg["optim.weight_decay"])
    lr, kind = cfg["optim.base_lr"], cfg["optim.optimizer"]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr)


# --------------------------------------------------------------------------- training
def batch_size(cfg):
    return cfg["train.batch_size"] or 128


def evaluate(model, data, index, x, graphs, bs, metric):
    """train.metric over the labelled nodes of `graphs` (run in batches of bs, in order): acc, or
    wacc = the mean over the classes present of each class's recall; and the mean NLL."""
    c = data["num_classes"]
    correct, total = torch.zeros(c, dtype=torch.long), torch.zeros(c, dtype=torch.long)
    loss = 0.0
    with torch.no_grad():
        for i in range(0, len(graphs), bs):
            b = Batch(index, graphs[i:i + bs])
            y = data["y"][b.nodes]
            out = model(b, x[b.nodes])
            m = y >= 0
            y, out = y[m], out[m]
            total += torch.bincount(y, minlength=c)
            correct += torch.bincount(y[out.argmax(1) == y], minlength=c)
            loss += float(F.nll_loss(out, y, reduction="sum"))
    n = int(total.sum())
    if n == 0:
        return 0.0, 0.0
    if metric == "wacc":
        present = total > 0
        score = float((correct[present].double() / total[present].double()).mean())
    else:
        score = int(correct.sum()) / n
    return score, loss / n


def class_loss(out, y, num_classes, weights):
    """The NLL averaged over the rows; train.class_weights=complement weighs class c by (n − n_c) / n
    over these rows (a weighted mean, as Locus's TaskObjective::class_loss; one class alone: the plain
    mean)."""
    if weights == "complement":
        n = len(y)
        w = (n - torch.bincount(y, minlength=num_classes).float()) / n
        if float(w[y].sum()) > 0:
            return F.nll_loss(out, y, weight=w)
    return F.nll_loss(out, y)


def train_run(cfg, data, index, x, seed, log):
    torch.manual_seed(seed)
    net = dict(gcn=GCNNet, gatedgcn=GatedGCNNet)[cfg["gnn.layer_type"]]
    model = net(cfg, x.shape[1], data["num_classes"])
    opt = make_optimizer(cfg, model)
    epochs, bs = cfg["optim.max_epoch"], batch_size(cfg)
    clip = cfg["optim.clip_grad_norm"]
    metric, weights = cfg.get("train.metric") or "acc", cfg.get("train.class_weights") or "none"
    y, train = data["y"], data["train"]
    has_val = len(data["val"]) > 0
    times, losses = [], []
    best_test, best_epoch, kept_val = 0.0, 0, 0.0
    selector = ref.Selector(cfg, has_val)
    val_acc = test_acc = 0.0
    epoch = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = train[torch.randperm(len(train))]
        loss_sum, steps = 0.0, 0
        for i in range(0, len(order), bs):
            b = Batch(index, order[i:i + bs])
            yb = y[b.nodes]
            rows = yb >= 0
            if not bool(rows.any()):
                continue
            opt.zero_grad(set_to_none=True)
            out = model(b, x[b.nodes])
            loss = class_loss(out[rows], yb[rows], data["num_classes"], weights)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            loss_sum += loss.item()
            steps += 1
        times.append(time.perf_counter() - t0)
        epoch_loss = loss_sum / max(1, steps)
        losses.append(epoch_loss)
        if not math.isfinite(epoch_loss):
            raise RuntimeError("seed %d epoch %d: the loss is %s; lower optim.base_lr" % (seed, epoch, epoch_loss))

        model.eval()
        val_acc, val_loss = evaluate(model, data, index, x, data["val"], bs, metric)
        test_acc, _ = evaluate(model, data, index, x, data["test"], bs, metric)
        log("[graph_reference %s] seed %d epoch %d: loss %.4f, val %.4f, test %.4f, %.0f ms"
            % (cfg["gnn.layer_type"], seed, epoch, epoch_loss, val_acc, test_acc, 1e3 * times[-1]))
        keep, stop = selector.observe(val_acc, val_loss)  # train.select; no validation graphs: the last epoch
        if keep:
            best_test, best_epoch, kept_val = test_acc, epoch, val_acc
        if stop:
            break
    kept = times[ref.warmup_epochs(epochs):] or times
    num_params = sum(p.numel() for p in model.parameters())
    return dict(seed=seed, test_acc=best_test, val_acc=kept_val, best_epoch=best_epoch, epochs_run=epoch,
                last_val_acc=val_acc, last_test_acc=test_acc, epoch_ms_median=1e3 * statistics.median(kept),
                losses=losses), kept, num_params


def main(argv=None, prog="graph_reference.py"):
    args, cfg = ref.cli_config(argv, prog, __doc__.split("\n\n")[0], SUPPORTED, HONOURED, per="epoch")
    kind = cfg["gnn.layer_type"]
    if cfg["dataset.features"] not in ("file", "constant"):
        sys.exit("%s: dataset.features %s: the reference reads file or constant" % (prog, cfg["dataset.features"]))
    if (kind == "gatedgcn" or cfg.get("gnn.residual")) and cfg["gnn.norm"] not in ("batch", "layer", "none"):
        sys.exit("%s: gnn.norm %s has no reference here (batch | layer | none)" % (prog, cfg["gnn.norm"]))

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    baseline_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t_load = time.perf_counter()
    try:
        data = load_graph_dataset(cfg["dataset.path"], cfg["dataset.features"])
    except DatasetError as e:
        sys.exit("%s: %s" % (prog, e))
    x = data["x"]
    if cfg["dataset.feature_norm"] == "row":
        s = x.sum(1, keepdim=True)
        x = torch.where(s != 0, x / torch.where(s != 0, s, torch.ones_like(s)), x)
    index = GraphIndex(data)
    load_s = time.perf_counter() - t_load
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    log("[graph_reference %s] %s: %d graphs, %d nodes, %d directed edges, %d features, %d classes, "
        "%d/%d/%d graphs split; loaded in %.2f s"
        % (kind, data["name"], data["num_graphs"], data["num_nodes"], len(data["dst"]), x.shape[1],
           data["num_classes"], len(data["train"]), len(data["val"]), len(data["test"]), load_s))

    runs, all_times, num_params = [], [], 0
    for r in range(cfg["num_runs"]):
        try:
            res, kept, num_params = train_run(cfg, data, index, x, cfg["seed"] + r, log)
        except RuntimeError as e:
            sys.exit("%s: %s" % (prog, e))
        runs.append(res)
        all_times.extend(kept)
        log("[graph_reference %s] run %d seed %d: test acc %.4f (best val %.4f at epoch %d), last epoch val %.4f "
            "test %.4f, epoch %.1f ms" % (kind, r, res["seed"], res["test_acc"], res["val_acc"], res["best_epoch"],
                                          res["last_val_acc"], res["last_test_acc"], res["epoch_ms_median"]))

    accs = [r["test_acc"] for r in runs]
    epochs = cfg["optim.max_epoch"]
    epoch_ms = 1e3 * statistics.median(all_times)
    result = dict(
        implementation="pytorch-graph-reference",
        dataset=os.path.abspath(cfg["dataset.path"]),
        model=kind, config=cfg, metric=cfg.get("train.metric") or "acc",
        num_runs=cfg["num_runs"], epochs=epochs, threads=args.threads,
        warmup_epochs_discarded=ref.warmup_epochs(epochs),
        batch_size=batch_size(cfg), num_train_graphs=len(data["train"]),
        num_graphs=data["num_graphs"], num_nodes=data["num_nodes"], num_edges=len(data["dst"]),
        num_params=num_params,
        test_acc_mean=statistics.fmean(accs),
        test_acc_std=statistics.pstdev(accs),
        val_acc_mean=statistics.fmean(r["val_acc"] for r in runs),
        last_val_acc_mean=statistics.fmean(r["last_val_acc"] for r in runs),
        last_test_acc_mean=statistics.fmean(r["last_test_acc"] for r in runs),
        epoch_ms_median=epoch_ms,
        graphs_per_s=len(data["train"]) / (epoch_ms / 1e3) if epoch_ms > 0 else None,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        rss_after_import_mib=baseline_rss_mib,
        torch_version=torch.__version__, python=platform.python_version(),
        blas=ref.blas_libraries(),
        runs=runs,
    )
    print("graph reference %s on %s: test accuracy %.2f ± %.2f %% over %d runs (last epoch %.2f %%), "
          "median epoch %.1f ms = %.1f graphs/s, %d parameters, peak RSS %.1f MiB"
          % (kind.upper(), data["name"], 100 * result["test_acc_mean"], 100 * result["test_acc_std"],
             cfg["num_runs"], 100 * result["last_test_acc_mean"], epoch_ms, result["graphs_per_s"] or 0,
             num_params, result["peak_rss_mib"]))
    if args.json:
        ref.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
