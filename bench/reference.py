#!/usr/bin/python3
"""Plain-PyTorch reference GNNs (GCN, GAT, GraphSAGE, GIN) for side-by-side benchmarks with Locus.

No PyTorch Geometric: the graph, the features and the message passing are built here in plain
torch from a dataset in the Locus dataset-YAML schema (see ../shared/datasets/README.md), and
the hyper-parameters come from the same Locus config file `locus train` reads, so both sides
always run the same model:

  /usr/bin/python3 bench/reference.py --model gat --config apps/configs/cora_gat.yaml \
      --runs 10 --threads 2 --json out.json [key=value ...]

Config keys: Locus's schema (`locus config --list`; read from the Locus program, LOCUS_BIN or
build/locus), so every key a Locus config may hold loads here; an unknown key is an error.
Honoured: dataset.path, dataset.feature_norm, gnn.layer_type, gnn.layers_mp, gnn.dim_inner,
gnn.act, gnn.dropout, gnn.att_heads, gnn.att_heads_out, gnn.att_dropout, gnn.att_value_dropout,
optim.optimizer, optim.base_lr, optim.weight_decay, optim.weight_decay_on, optim.max_epoch,
train.patience, train.select, seed, num_runs; --threads sets the threads. The rest (positional
encodings, anchor branches, transformer options, ...) must keep their defaults: the reference
refuses a config that sets them, since it would train another model than Locus.
`key=value` arguments override the file, as on the `locus train` command line; --dataset,
--runs, --seed and --epochs override dataset.path, num_runs, seed and optim.max_epoch.
dataset.path in the file is relative to the file; on the command line, to the current folder.

The model is Locus's GnnClassifier (layers/gnn.cpp) layer for layer:
  * features: the dataset's, kept as a sparse COO tensor (one-hot identity when it has
    none), each row divided by its sum when dataset.feature_norm is `row`
  * layers_mp layers; dropout (gnn.dropout) before every layer, the input included (on a
    sparse input it acts on the stored non-zeros, as Kipf's sparse_dropout and Locus);
    gnn.act between layers (relu | elu | leaky_relu (0.2) | gelu (erf) | identity);
    log-softmax at the end; hidden width gnn.dim_inner, output width = classes
  * gcn:  h' = Â h W + b, Â = D^-1/2 (A + I) D^-1/2 (self loops added where missing, weight 1)
  * sage: h' = mean_{s->d} w_sd h_s W_l + h_d W_r + b (mean = divided by the in-degree; root
          weight W_r without bias; the bias belongs to the neighbour map)
  * gin:  h' = MLP((1 + eps) h_d + sum_{s->d} w_sd h_s), MLP = Linear(in, out), ReLU,
          Linear(out, out); eps learnable, initialised to 0, never weight-decayed
  * gat:  graph = self loops removed, then one added per node; z = h W (H heads of F);
          e_sd = LeakyReLU_0.2(a_src . z_s + a_dst . z_d); alpha = softmax over d's in-edges
          (segment softmax: scatter max, exp, scatter sum); dropout gnn.att_dropout on alpha;
          z~ = dropout(z, gnn.att_value_dropout) (the authors' code; 0 = off: z~ = z);
          h'_d = sum_s w_sd alpha_sd z~_s per head, hidden layers concatenate gnn.att_heads
          heads of gnn.dim_inner, the last layer averages gnn.att_heads_out heads; + b.
          Message passing on edge-index tensors (gather / scatter_add_ / scatter_reduce_ for
          the [E, H] scores, index_select / index_add_ for the [E, H*F] messages)
  * mlp:  Linear layers
  * Glorot-uniform weights (bound sqrt(6 / (fan_in + fan_out))), zero biases, GAT attention
    vectors Glorot over [H, F]
  * NLL on the training nodes; optim.optimizer adam (L2 added to the gradient, as
    torch.optim.Adam and Locus) | adamw (decoupled) | sgd (no momentum), lr optim.base_lr,
    decay optim.weight_decay on the first layer's parameters only (`weight_decay_on: first`)
    or on all parameters (`all`; GIN's eps excluded, as in Locus)
  * optim.max_epoch epochs; after every epoch an evaluation pass (no dropout) gives
    validation and test accuracy; a run reports the test accuracy of the epoch chosen by
    train.select, as in Locus: val_acc = the first epoch with the best validation accuracy,
    val_acc_loss = the GAT paper's rule (the last epoch when the validation set is empty);
    train.patience > 0 stops a run after that many epochs without improvement
  * run r uses seed S + r (torch.manual_seed); Locus uses its own generator, so the two
    agree in distribution over seeds, not run by run

Timing: each training epoch (dropout masks, forward, loss, backward, optimizer step;
evaluation excluded) is timed with time.perf_counter; the first min(10, epochs / 5) epochs of
every run are warm-up and discarded (as `locus train`); epoch_ms_median is the median over all
remaining epochs of all runs. peak_rss_mib is the process's peak resident set (getrusage
ru_maxrss, KiB -> MiB), which includes the Python interpreter and the torch library
(rss_after_import_mib in the JSON is the peak RSS before the dataset is read, for context).
Dense matrix products go through the BLAS library torch loads (Debian's torch: the system
libblas.so.3, by default the unoptimised reference BLAS; LD_LIBRARY_PATH can put another
libblas.so.3, e.g. OpenBLAS, first); the JSON's `blas` lists the libraries actually loaded.

JSON keys: test_acc_mean, test_acc_std (fractions in [0, 1]; std is the population standard
deviation over runs, ddof=0, as `locus train` reports it), val_acc_mean, epoch_ms_median,
peak_rss_mib, num_params, config (the effective keys), runs (a list of {seed, test_acc,
best_epoch, val_acc, epochs_run, epoch_ms_median}), plus descriptive extras. best_epoch counts
from 1, as in `locus train`.

Reads only what the Cora/Karate datasets use: `ids: index`, `edges` (whitespace/tab/comma
delimiter, comment, weighted, .gz), `features` (sparse or dense) or none, `labels`, and a
split given as three files. Anything else is reported as unsupported.
"""

import argparse
import gzip
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - environment problem, explained to the user
    sys.exit("reference.py: cannot import torch with %s. On Debian 12 run\n"
             "    apt-get install -y python3-torch python3-yaml\n"
             "and call this script with /usr/bin/python3 (a pyenv/venv python3 does not "
             "see Debian's packages)." % sys.executable)


class DatasetError(Exception):
    pass


# --------------------------------------------------------------------------- YAML
def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~", ""):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _strip_comment(line):
    # A '#' starts a comment unless it is inside quotes ("#" as a comment character).
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _mini_yaml(text, path):
    """Block mappings of scalars only: enough for dataset.yaml files without PyYAML."""
    root = {}
    stack = [(-1, root)]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if ":" not in body or body.startswith(("-", "{", "[")):
            raise DatasetError("%s:%d: the built-in YAML reader handles only 'key: value' "
                               "mappings (install python3-yaml for full YAML): %r"
                               % (path, lineno, body))
        key, _, value = body.partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value.strip() == "":
            child = {}
            parent[key.strip()] = child
            stack.append((indent, child))
        elif value.strip().startswith(("{", "[", "&", "*", "|", ">")):
            raise DatasetError("%s:%d: the built-in YAML reader handles only plain scalars "
                               "(install python3-yaml for full YAML): %r" % (path, lineno, body))
        else:
            parent[key.strip()] = _scalar(value)
    return root


def load_yaml(path):
    with open(path, "r", encoding="utf-8-sig") as f:
        text = f.read()
    try:
        import yaml  # python3-yaml
    except ImportError:
        return _mini_yaml(text, path)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise DatasetError("%s: expected a mapping at the top level" % path)
    return data


# --------------------------------------------------------------------------- data files
def _open_text(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline=None)
    return open(path, "r", encoding="utf-8-sig", newline=None)


def _rows(path, delimiter="whitespace", comment="#"):
    """Yields (line number, fields) of the non-empty, non-comment lines of a table file."""
    if not os.path.exists(path):
        raise DatasetError("missing file: %s" % path)
    sep = {"whitespace": None, "tab": "\t", "comma": ","}.get(delimiter)
    if delimiter not in ("whitespace", "tab", "comma"):
        raise DatasetError("%s: unsupported delimiter %r (whitespace | tab | comma)"
                           % (path, delimiter))
    with _open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or (comment and line.lstrip().startswith(comment)):
                continue
            fields = line.split(sep) if sep else line.split()
            yield lineno, [x.strip() for x in fields]


def _node_id(token, path, lineno):
    try:
        v = int(token)
    except ValueError:
        raise DatasetError("%s:%d: node id %r is not an integer (only `ids: index` is "
                           "supported by the reference)" % (path, lineno, token))
    if v < 0:
        raise DatasetError("%s:%d: negative node id %d" % (path, lineno, v))
    return v


def load_dataset(yaml_path):
    """Returns dict(x=sparse COO features [N, F] (raw), adj_edges, y, train/val/test ids)."""
    cfg = load_yaml(yaml_path)
    base = os.path.dirname(os.path.abspath(yaml_path))

    def rel(p):
        return p if os.path.isabs(p) else os.path.join(base, p)

    if cfg.get("ids", "index") != "index":
        raise DatasetError("%s: ids: %s is not supported by the reference (index only)"
                           % (yaml_path, cfg.get("ids")))
    if "nodes" in cfg:
        raise DatasetError("%s: a `nodes` table is not supported by the reference" % yaml_path)
    task = cfg.get("task", "node_classification")
    if task != "node_classification":
        raise DatasetError("%s: task %s is not supported by the reference" % (yaml_path, task))
    directed = bool(cfg.get("directed", False))
    max_id = -1

    # Edges: (dst, src) -> weight; duplicates merge, self loops per `self_loops`.
    e = cfg.get("edges")
    if not isinstance(e, dict) or "path" not in e:
        raise DatasetError("%s: `edges.path` is required" % yaml_path)
    epath = rel(e["path"])
    weighted = bool(e.get("weighted", False))
    self_loops = e.get("self_loops", "keep")
    duplicates = e.get("duplicates", "merge")
    edges = {}
    for lineno, f in _rows(epath, e.get("delimiter", "whitespace"), e.get("comment", "#")):
        want = 3 if weighted else 2
        if len(f) != want:
            raise DatasetError("%s:%d: expected %d fields, got %d" % (epath, lineno, want, len(f)))
        s, d = _node_id(f[0], epath, lineno), _node_id(f[1], epath, lineno)
        w = float(f[2]) if weighted else 1.0
        if not math.isfinite(w):
            raise DatasetError("%s:%d: non-finite weight %r" % (epath, lineno, f[2]))
        max_id = max(max_id, s, d)
        if s == d:
            if self_loops == "drop":
                continue
            if self_loops == "error":
                raise DatasetError("%s:%d: self loop %d" % (epath, lineno, s))
        pairs = [(d, s)] if directed or s == d else [(d, s), (s, d)]
        for key in pairs:
            if key in edges and duplicates == "error":
                raise DatasetError("%s:%d: duplicate edge %d %d" % (epath, lineno, s, d))
            edges[key] = w  # merge: one edge (last weight wins)

    # Features.
    feat = cfg.get("features")
    feat_entries = []  # (node, feature, value)
    dim = None
    if feat:
        fpath = rel(feat["path"])
        fmt = feat.get("format", "dense")
        if fmt == "sparse":
            dim = int(feat["dim"])
            for lineno, f in _rows(fpath, feat.get("delimiter", "whitespace"),
                                   feat.get("comment", "#")):
                if len(f) != 3:
                    raise DatasetError("%s:%d: expected 'node feature value'" % (fpath, lineno))
                n, j, v = _node_id(f[0], fpath, lineno), int(f[1]), float(f[2])
                if not (0 <= j < dim) or not math.isfinite(v):
                    raise DatasetError("%s:%d: bad feature %r value %r" % (fpath, lineno, f[1], f[2]))
                max_id = max(max_id, n)
                feat_entries.append((n, j, v))
        elif fmt == "dense":
            for lineno, f in _rows(fpath, feat.get("delimiter", "whitespace"),
                                   feat.get("comment", "#")):
                n = _node_id(f[0], fpath, lineno)
                vals = [float(x) for x in f[1:]]
                if dim is None:
                    dim = int(feat.get("dim", len(vals)))
                if len(vals) != dim:
                    raise DatasetError("%s:%d: %d values, expected %d" % (fpath, lineno, len(vals), dim))
                max_id = max(max_id, n)
                feat_entries.extend((n, j, v) for j, v in enumerate(vals) if v != 0.0)
        else:
            raise DatasetError("%s: features.format %r (sparse | dense)" % (yaml_path, fmt))

    # Labels.
    lab = cfg.get("labels")
    if not lab:
        raise DatasetError("%s: `labels` is required for node classification" % yaml_path)
    lpath = rel(lab["path"])
    raw_labels = {}
    for lineno, f in _rows(lpath, lab.get("delimiter", "whitespace"), lab.get("comment", "#")):
        if len(f) != 2:
            raise DatasetError("%s:%d: expected 'node label'" % (lpath, lineno))
        n = _node_id(f[0], lpath, lineno)
        max_id = max(max_id, n)
        raw_labels[n] = f[1]
    try:
        label_of = {n: int(t) for n, t in raw_labels.items()}
    except ValueError:
        tokens = sorted(set(raw_labels.values()))
        index = {t: i for i, t in enumerate(tokens)}
        label_of = {n: index[t] for n, t in raw_labels.items()}
    num_classes = lab.get("num_classes") or (max(label_of.values()) + 1)

    num_nodes = int(cfg.get("num_nodes") or (max_id + 1))
    if max_id >= num_nodes:
        raise DatasetError("%s: node id %d >= num_nodes %d" % (yaml_path, max_id, num_nodes))

    # Split: three files of node ids.
    split = cfg.get("split")
    if not isinstance(split, dict) or not all(k in split for k in ("train", "val", "test")) \
            or not all(isinstance(split[k], str) for k in ("train", "val", "test")):
        raise DatasetError("%s: the reference supports only `split: {train: FILE, val: FILE, "
                           "test: FILE}`" % yaml_path)
    parts = {}
    for k in ("train", "val", "test"):
        p = rel(split[k])
        ids = [_node_id(f[0], p, ln) for ln, f in _rows(p)]
        for n in ids:
            if n >= num_nodes or n not in label_of:
                raise DatasetError("%s: split id %d out of range or unlabeled" % (p, n))
        parts[k] = torch.tensor(ids, dtype=torch.long)

    y = torch.full((num_nodes,), -1, dtype=torch.long)
    for n, c in label_of.items():
        y[n] = c

    if feat_entries:
        idx = torch.tensor([[n for n, _, _ in feat_entries], [j for _, j, _ in feat_entries]],
                           dtype=torch.long)
        val = torch.tensor([v for _, _, v in feat_entries], dtype=torch.float32)
        x = torch.sparse_coo_tensor(idx, val, (num_nodes, dim)).coalesce()
    else:  # no features: one-hot node ids
        idx = torch.arange(num_nodes).repeat(2, 1)
        x = torch.sparse_coo_tensor(idx, torch.ones(num_nodes), (num_nodes, num_nodes)).coalesce()

    return dict(name=cfg.get("name", os.path.basename(base)), x=x, edges=edges, y=y,
                num_nodes=num_nodes, num_classes=int(num_classes), **parts)


warnings.filterwarnings("ignore", message=".*scatter_reduce.*beta")  # torch 1.13: stable enough

# --------------------------------------------------------------------------- config
# The keys, defaults, types and choices are Locus's own (train/config.cpp), read from
# `locus config --list --format json` (LOCUS_BIN, default build/locus), so both sides read the
# same configs the same way. Ranges are left to `locus train`, which checks the same file.
SUPPORTED = ("gcn", "sage", "gin", "gat", "mlp")  # the models this reference implements


def _locus_schema():
    exe = os.environ.get("LOCUS_BIN") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "locus")
    try:
        out = subprocess.run([exe, "config", "--list", "--format", "json"], check=True, capture_output=True,
                             text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit("reference.py: cannot read the config schema from %s (%s); build Locus first (bash scripts/setup.sh) "
                 "or set LOCUS_BIN" % (exe, e))
    return {k["key"]: k for k in json.loads(out)}


SCHEMA = _locus_schema()
DEFAULTS = {key: (None if k["default"] == "" else k["default"]) for key, k in SCHEMA.items()}
SECTIONS = sorted({key.rsplit(".", 1)[0] for key in SCHEMA if "." in key}
                  | {key.split(".")[0] for key in SCHEMA if "." in key})
# The keys this reference reads; any other key that changes results must keep its default.
HONOURED = {"dataset.path", "dataset.feature_norm", "gnn.layer_type", "gnn.layers_mp", "gnn.dim_inner", "gnn.act",
            "gnn.dropout", "gnn.att_heads", "gnn.att_heads_out", "gnn.att_dropout", "gnn.att_value_dropout",
            "optim.optimizer", "optim.base_lr", "optim.weight_decay", "optim.weight_decay_on", "optim.max_epoch",
            "train.patience", "train.select", "seed", "num_runs"}


class ConfigError(Exception):
    pass


def _check_key(key, where):
    if key not in DEFAULTS:
        import difflib
        near = difflib.get_close_matches(key, list(DEFAULTS), n=1)
        raise ConfigError("%s: unknown key %r%s" % (where, key,
                          " (did you mean %r?)" % near[0] if near else ""))


def _set(cfg, key, value, where):
    _check_key(key, where)
    k = SCHEMA[key]
    if isinstance(value, str) and k["type"] in ("integer", "number"):  # PyYAML reads "5e-4" as a string
        try:
            value = float(value) if k["type"] == "number" else int(value)
        except ValueError:
            pass
    if isinstance(value, str) and k["type"] == "boolean" and value.lower() in ("on", "off", "yes", "no"):
        value = value.lower() in ("on", "yes")  # Locus's booleans (core/yaml_input.hpp)
    ok = {"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "boolean": lambda v: isinstance(v, bool),
          "choice": lambda v: isinstance(v, str) and v in k["choices"],
          "text": lambda v: v is None or isinstance(v, str),
          "list": lambda v: isinstance(v, (list, str))}[k["type"]]
    if not ok(value):
        want = "one of " + " | ".join(k["choices"]) if k["type"] == "choice" else "a " + k["type"]
        raise ConfigError("%s: %s must be %s, got %r" % (where, key, want, value))
    if k["type"] == "number":
        value = float(value)
    cfg[key] = value


def load_config(path, overrides=()):
    """The effective dotted-key config: defaults, then the file, then key=value overrides."""
    cfg = dict(DEFAULTS)
    raw = load_yaml(path)
    cfg_dir = os.path.dirname(os.path.abspath(path))
    def walk(prefix, mapping):
        for k, v in mapping.items():
            key = "%s.%s" % (prefix, k) if prefix else k
            if key in SECTIONS and isinstance(v, dict):
                walk(key, v)
            elif key in SECTIONS:
                raise ConfigError("%s: `%s` must be a mapping" % (path, key))
            else:
                _set(cfg, key, v, path)
    walk("", raw)
    if cfg["dataset.path"] is not None and not os.path.isabs(cfg["dataset.path"]):
        cfg["dataset.path"] = os.path.normpath(os.path.join(cfg_dir, cfg["dataset.path"]))
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError("override %r is not key=value" % item)
        try:
            import yaml
            value = yaml.safe_load(text) if text.strip() else None
        except ImportError:
            value = _scalar(text)
        except Exception:  # yaml.YAMLError: keep the text as it is
            value = text
        if key.strip() == "dataset.path":
            value = os.path.abspath(str(value))
        _set(cfg, key.strip(), value, "command line")
    return cfg


# --------------------------------------------------------------------------- graph
def row_normalize(x):
    """Each row divided by its sum (rows summing to 0 stay 0); x sparse COO, coalesced."""
    idx, val = x.indices(), x.values()
    rowsum = torch.zeros(x.shape[0]).index_add_(0, idx[0], val)
    inv = torch.where(rowsum != 0, 1.0 / rowsum, torch.zeros_like(rowsum))
    return torch.sparse_coo_tensor(idx, val * inv[idx[0]], x.shape).coalesce()


def edge_tensors(edges):
    """dst, src (long) and weight (float) tensors of an edge dict {(dst, src): w}, sorted."""
    keys = sorted(edges)
    if not keys:
        e = torch.zeros(0, dtype=torch.long)
        return e, e.clone(), torch.zeros(0)
    t = torch.tensor(keys, dtype=torch.long)
    return t[:, 0].contiguous(), t[:, 1].contiguous(), \
        torch.tensor([edges[k] for k in keys], dtype=torch.float32)


def with_self_loops(edges, n, remove_existing=False):
    """Locus's Csr::add_self_loops: a loop of weight 1 on every node that lacks one
    (after removing all loops first when remove_existing, as gat_graph does)."""
    out = {k: w for k, w in edges.items() if not (remove_existing and k[0] == k[1])}
    for i in range(n):
        out.setdefault((i, i), 1.0)
    return out


class SpMat:
    """A constant sparse matrix M [n, n] (COO) and its transpose, for M @ X with autograd
    (the backward multiplies by the cached transpose instead of transposing every epoch)."""

    def __init__(self, dst, src, w, n):
        idx = torch.stack([dst, src])
        self.m = torch.sparse_coo_tensor(idx, w, (n, n)).coalesce()
        self.mt = torch.sparse_coo_tensor(idx.flip(0), w, (n, n)).coalesce()

    def __matmul__(self, x):
        return _SpMM.apply(x, self)


class _SpMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, mat):
        ctx.mat = mat
        return torch.sparse.mm(mat.m, x)

    @staticmethod
    def backward(ctx, g):
        return torch.sparse.mm(ctx.mat.mt, g), None


def gcn_matrix(edges, n):
    """Â = D^-1/2 (A + I) D^-1/2, A[dst, src] = weight, self loops added where missing."""
    dst, src, w = edge_tensors(with_self_loops(edges, n))
    deg = torch.zeros(n).index_add_(0, dst, w)
    dinv = deg.pow(-0.5)
    dinv[torch.isinf(dinv)] = 0.0
    return SpMat(dst, src, dinv[dst] * w * dinv[src], n)


def mean_matrix(edges, n):
    """M[d, s] = w_sd / in-degree(d) (edge count, as Locus's Reduce::Mean)."""
    dst, src, w = edge_tensors(edges)
    cnt = torch.zeros(n).index_add_(0, dst, torch.ones_like(w))
    return SpMat(dst, src, w / cnt.clamp(min=1)[dst], n)


def sum_matrix(edges, n):
    dst, src, w = edge_tensors(edges)
    return SpMat(dst, src, w, n)


# --------------------------------------------------------------------------- layers
def glorot(rows, cols, fan=None):
    a = math.sqrt(6.0 / (fan if fan is not None else rows + cols))
    return torch.nn.Parameter(torch.empty(rows, cols).uniform_(-a, a))


def zeros(n):
    return torch.nn.Parameter(torch.zeros(n))


def mm(h, w):
    """h @ w for a dense or sparse COO h."""
    return torch.sparse.mm(h, w) if h.is_sparse else h @ w


def dropout(x, p, training):
    """Inverted dropout. Same as F.dropout, but with a uniform mask (torch.rand), which is about
    twice as fast as F.dropout's bernoulli_ on CPU in torch 1.13."""
    if not training or p == 0.0:
        return x
    return x * (torch.rand_like(x) >= p).to(x.dtype).mul_(1.0 / (1.0 - p))


def widens(h, w):
    """Whether to aggregate before the linear map: only for a dense input that widens."""
    return not h.is_sparse and w.shape[1] > w.shape[0]


class GCNLayer(torch.nn.Module):
    def __init__(self, graph, d_in, d_out):
        super().__init__()
        self.a = graph["gcn"]
        self.weight, self.bias = glorot(d_in, d_out), zeros(d_out)

    def forward(self, h):
        if widens(h, self.weight):
            return (self.a @ h) @ self.weight + self.bias
        return self.a @ mm(h, self.weight) + self.bias


class SAGELayer(torch.nn.Module):
    def __init__(self, graph, d_in, d_out):
        super().__init__()
        self.a = graph["mean"]
        self.w_neigh, self.bias, self.w_root = glorot(d_in, d_out), zeros(d_out), glorot(d_in, d_out)

    def forward(self, h):
        if widens(h, self.w_neigh):
            return (self.a @ h) @ self.w_neigh + mm(h, self.w_root) + self.bias
        d = self.w_neigh.shape[1]
        hw = mm(h, torch.cat([self.w_neigh, self.w_root], 1))   # one product for both maps
        return self.a @ hw[:, :d] + hw[:, d:] + self.bias


class GINLayer(torch.nn.Module):
    no_decay = ("eps",)

    def __init__(self, graph, d_in, d_out):
        super().__init__()
        self.a = graph["sum"]
        self.eps = zeros(1)
        self.w1, self.b1 = glorot(d_in, d_out), zeros(d_out)
        self.w2, self.b2 = glorot(d_out, d_out), zeros(d_out)

    def forward(self, h):
        # W1 ((1 + eps) h_d + sum h_s) = (1 + eps) (h W1)_d + sum (h W1)_s
        hw = mm(h, self.w1)
        h = F.relu((1 + self.eps) * hw + self.a @ hw + self.b1)
        return h @ self.w2 + self.b2


class GATLayer(torch.nn.Module):
    def __init__(self, graph, d_in, d_out, heads, concat, att_dropout, value_dropout=0.0,
                 slope=0.2):
        super().__init__()
        self.dst, self.src, self.w = graph["gat"]
        self.n = graph["n"]
        self.heads, self.f, self.concat = heads, d_out, concat
        self.p, self.p_value, self.slope = att_dropout, value_dropout, slope
        self.weight = glorot(d_in, heads * d_out)
        self.att_src = glorot(heads, d_out)   # bound sqrt(6 / (H + F)), as PyG and Locus
        self.att_dst = glorot(heads, d_out)
        self.bias = zeros(heads * d_out if concat else d_out)
        self.weighted = bool((self.w != 1).any())
        # [E, H] index tensors for the per-edge scores: on such narrow rows gather/scatter_add_
        # are several times faster than index_select/index_add_ (torch 1.13 CPU); the wide
        # [E, H*F] messages use index_select/index_add_, faster there.
        self.src_h = self.src.view(-1, 1).expand(-1, heads)
        self.dst_h = self.dst.view(-1, 1).expand(-1, heads)

    def out_dim(self):
        return self.heads * self.f if self.concat else self.f

    def forward(self, h):
        n, heads, f = self.n, self.heads, self.f
        z = mm(h, self.weight).view(n, heads, f)
        s_src = (z * self.att_src).sum(-1)                     # [n, H]
        s_dst = (z * self.att_dst).sum(-1)
        e = F.leaky_relu(torch.gather(s_src, 0, self.src_h) + torch.gather(s_dst, 0, self.dst_h),
                         self.slope)                           # [E, H]
        # Segment softmax over each destination's in-edges: subtract the max (no gradient
        # needed: softmax is shift-invariant), exponentiate, divide by the scattered sum.
        with torch.no_grad():
            emax = torch.zeros(n, heads).scatter_reduce_(0, self.dst_h, e, "amax",
                                                         include_self=False)
        ex = torch.exp(e - torch.gather(emax, 0, self.dst_h))
        den = torch.zeros(n, heads).scatter_add_(0, self.dst_h, ex)
        alpha = ex / torch.gather(den, 0, self.dst_h)
        alpha = dropout(alpha, self.p, self.training)
        if self.weighted:
            alpha = alpha * self.w.view(-1, 1)
        values = dropout(z, self.p_value, self.training)
        msg = values.index_select(0, self.src) * alpha.unsqueeze(-1)     # [E, H, F]
        out = torch.zeros(n, heads, f).index_add_(0, self.dst, msg)
        out = out.reshape(n, heads * f) if self.concat else out.mean(1)
        return out + self.bias


class LinearLayer(torch.nn.Module):
    def __init__(self, graph, d_in, d_out):
        super().__init__()
        self.weight, self.bias = glorot(d_in, d_out), zeros(d_out)

    def forward(self, h):
        return mm(h, self.weight) + self.bias


def activation(name):
    return {"relu": F.relu, "elu": F.elu, "identity": lambda x: x,
            "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "gelu": F.gelu}[name]


class Classifier(torch.nn.Module):
    """Locus's GnnClassifier: dropout before every layer, activation between, log-softmax."""

    def __init__(self, cfg, graph, in_dim, num_classes):
        super().__init__()
        kind, n_layers, hidden = cfg["gnn.layer_type"], cfg["gnn.layers_mp"], cfg["gnn.dim_inner"]
        self.p, self.act = cfg["gnn.dropout"], activation(cfg["gnn.act"])
        self.layers = torch.nn.ModuleList()
        d_in = in_dim
        for l in range(n_layers):
            last = l + 1 == n_layers
            d_out = num_classes if last else hidden
            if kind == "gat":
                layer = GATLayer(graph, d_in, d_out,
                                 cfg["gnn.att_heads_out"] if last else cfg["gnn.att_heads"],
                                 concat=not last, att_dropout=cfg["gnn.att_dropout"],
                                 value_dropout=cfg["gnn.att_value_dropout"])
                d_out = layer.out_dim()
            else:
                layer = dict(gcn=GCNLayer, sage=SAGELayer, gin=GINLayer, mlp=LinearLayer)[kind](
                    graph, d_in, d_out)
            self.layers.append(layer)
            d_in = d_out

    def sparse_dropout(self, x):
        keep = torch.rand(x._nnz()) >= self.p
        vals = x.values() * keep / (1.0 - self.p)
        return torch.sparse_coo_tensor(x.indices(), vals, x.shape)._coalesced_(True)

    def forward(self, x):
        h = x
        for l, layer in enumerate(self.layers):
            if self.training and self.p > 0:
                h = self.sparse_dropout(h) if h.is_sparse else dropout(h, self.p, True)
            h = layer(h)
            if l + 1 < len(self.layers):
                h = self.act(h)
        return F.log_softmax(h, dim=1)

    def param_groups(self, wd, first_only):
        decay, no_decay = [], []
        for l, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                skip = name in getattr(layer, "no_decay", ()) or (first_only and l > 0)
                (no_decay if skip else decay).append(p)
        return [dict(params=decay, weight_decay=wd), dict(params=no_decay, weight_decay=0.0)]


def build_graph(kind, data):
    n, edges = data["num_nodes"], data["edges"]
    graph = dict(n=n)
    if kind == "gcn":
        graph["gcn"] = gcn_matrix(edges, n)
    elif kind == "sage":
        graph["mean"] = mean_matrix(edges, n)
    elif kind == "gin":
        graph["sum"] = sum_matrix(edges, n)
    elif kind == "gat":
        graph["gat"] = edge_tensors(with_self_loops(edges, n, remove_existing=True))
    return graph


def blas_libraries():
    """The BLAS/LAPACK shared libraries this process has loaded (torch's matrix products go
    through them: Debian's torch is built against the generic libblas.so.3 alternative)."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if ("blas" in name or "lapack" in name) and path not in found:
                    found.append(path)
    except OSError:
        pass
    return [os.path.realpath(p) for p in found]


def warmup_epochs(epochs):
    return min(10, epochs // 5)   # as `locus train`


def make_optimizer(cfg, model):
    groups = model.param_groups(cfg["optim.weight_decay"], cfg["optim.weight_decay_on"] == "first")
    lr = cfg["optim.base_lr"]
    kind = cfg["optim.optimizer"]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr)


def train_run(cfg, data, x, graph, seed):
    torch.manual_seed(seed)
    model = Classifier(cfg, graph, x.shape[1], data["num_classes"])
    opt = make_optimizer(cfg, model)
    epochs = cfg["optim.max_epoch"]
    y, train, val, test = data["y"], data["train"], data["val"], data["test"]
    y_train = y[train]
    times, best_test, best_epoch, kept_val = [], 0.0, 0, 0.0
    selector = Selector(cfg, len(val) > 0)
    epoch = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        out = model(x)
        loss = F.nll_loss(out[train], y_train)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        if not math.isfinite(loss.item()):
            raise RuntimeError("seed %d epoch %d: the loss is %s; lower optim.base_lr"
                               % (seed, epoch, loss.item()))

        model.eval()
        with torch.no_grad():
            out = model(x)
            pred = out.argmax(dim=1)
            # An empty validation set (e.g. karate's 2/0/32 split) selects the last epoch.
            val_acc = int((pred[val] == y[val]).sum()) / len(val) if len(val) else 0.0
            val_loss = F.nll_loss(out[val], y[val]).item() if len(val) else 0.0
            test_acc = int((pred[test] == y[test]).sum()) / len(test) if len(test) else 0.0
        keep, stop = selector.observe(val_acc, val_loss)
        if keep:
            best_test, best_epoch, kept_val = test_acc, epoch, val_acc
        if stop:
            break
    kept = times[warmup_epochs(epochs):] or times
    num_params = sum(p.numel() for p in model.parameters())
    return dict(seed=seed, test_acc=best_test, best_epoch=best_epoch, val_acc=kept_val,
                epochs_run=epoch, epoch_ms_median=1e3 * statistics.median(kept)), kept, num_params


def write_json(path, result):
    """Writes `result` to `path` atomically (a temporary file renamed over it)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


class Selector:
    """Model selection as in Locus (train.select, train.patience): val_acc keeps the first epoch of
    best validation accuracy; val_acc_loss (GAT paper) keeps an epoch with accuracy >= the best and
    loss <= the lowest so far; patience counts epochs improving neither; without validation rows
    every epoch is kept (the last one wins)."""

    def __init__(self, cfg, has_val):
        self.acc_loss = cfg["train.select"] == "val_acc_loss"
        self.patience = cfg["train.patience"]
        self.has_val = has_val
        self.best_val, self.best_loss, self.since_best = -1.0, math.inf, 0

    def observe(self, val_acc, val_loss):
        """Returns (keep this epoch, stop the run)."""
        if not self.has_val:
            keep = improved = True
        elif self.acc_loss:
            improved = val_acc >= self.best_val or val_loss <= self.best_loss
            keep = val_acc >= self.best_val and val_loss <= self.best_loss
            if improved:
                self.best_val, self.best_loss = max(self.best_val, val_acc), min(self.best_loss, val_loss)
        else:
            keep = improved = val_acc > self.best_val
            if keep:
                self.best_val = val_acc
        self.since_best = 0 if improved else self.since_best + 1
        return keep, self.patience > 0 and self.since_best >= self.patience


def cli_config(argv, prog, description, supported, honoured, per="run"):
    """The command line both references share: parses it, reads the config (file, then overrides and
    the flags), and refuses a --model that disagrees with gnn.layer_type, a layer type outside
    `supported`, a results key outside `honoured` away from its default, and no dataset file.
    Returns (args, cfg); exits with a message naming `prog` on any problem."""
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--model", choices=supported,
                    help="the model (default: the config's gnn.layer_type; must agree with it)")
    ap.add_argument("--config", required=True, help="a Locus config, e.g. apps/configs/cora_gat.yaml")
    ap.add_argument("--dataset", help="path to a dataset.yaml (overrides dataset.path)")
    ap.add_argument("--runs", type=int, help="runs (default: the config's num_runs)")
    ap.add_argument("--seed", type=int, help="run r uses seed + r (default: the config's seed)")
    ap.add_argument("--epochs", type=int, help="default: the config's optim.max_epoch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--quiet", action="store_true", help="no per-%s lines" % per)
    ap.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error("--threads must be >= 1")

    extra = list(args.overrides)
    if args.dataset:
        extra.append("dataset.path=%s" % args.dataset)
    for flag, key in ((args.runs, "num_runs"), (args.seed, "seed"), (args.epochs, "optim.max_epoch")):
        if flag is not None:
            extra.append("%s=%d" % (key, flag))
    try:
        cfg = load_config(args.config, extra)
    except (ConfigError, DatasetError, OSError) as e:
        sys.exit("%s: %s" % (prog, e))
    kind = cfg["gnn.layer_type"]
    if args.model and args.model != kind:
        sys.exit("%s: --model %s, but %s says gnn.layer_type: %s (pass gnn.layer_type=%s to "
                 "override it)" % (prog, args.model, args.config, kind, args.model))
    if kind not in supported:
        sys.exit("%s: gnn.layer_type %s has no reference here (%s)" % (prog, kind, " | ".join(supported)))
    for key, value in cfg.items():
        if key not in honoured and key != "dataset.name" and SCHEMA[key]["results"] and value != DEFAULTS[key]:
            sys.exit("%s: %s = %r: the reference has no such option (it would train another model than Locus); "
                     "leave it at %r" % (prog, key, value, DEFAULTS[key]))
    if cfg["dataset.path"] is None:
        sys.exit("%s: the reference needs a dataset file (dataset.path or --dataset); built-in "
                 "datasets (dataset.name) are Locus-only" % prog)
    return args, cfg


def main(argv=None, prog="reference.py"):
    args, cfg = cli_config(argv, prog, __doc__.split("\n\n")[0], SUPPORTED, HONOURED)
    kind = cfg["gnn.layer_type"]

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    # What `import torch` alone costs, for context: peak_rss_mib includes it.
    baseline_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t_load = time.perf_counter()
    try:
        data = load_dataset(cfg["dataset.path"])
    except DatasetError as e:
        sys.exit("%s: %s" % (prog, e))
    x = data["x"]
    if cfg["dataset.feature_norm"] == "row":
        x = row_normalize(x)
    graph = build_graph(kind, data)
    load_s = time.perf_counter() - t_load
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    log("[reference %s] %s: %d nodes, %d directed edges, %d features (%d non-zeros), "
        "%d classes, %d/%d/%d split; loaded in %.2f s"
        % (kind, data["name"], data["num_nodes"], len(data["edges"]), x.shape[1], x._nnz(),
           data["num_classes"], len(data["train"]), len(data["val"]), len(data["test"]), load_s))

    runs, all_times, num_params = [], [], 0
    for r in range(cfg["num_runs"]):
        try:
            res, kept, num_params = train_run(cfg, data, x, graph, cfg["seed"] + r)
        except RuntimeError as e:
            sys.exit("%s: %s" % (prog, e))
        runs.append(res)
        all_times.extend(kept)
        log("[reference %s] run %d seed %d: test acc %.4f (best val %.4f at epoch %d), "
            "epoch %.3f ms" % (kind, r, res["seed"], res["test_acc"], res["val_acc"],
                               res["best_epoch"], res["epoch_ms_median"]))

    accs = [r["test_acc"] for r in runs]
    epochs = cfg["optim.max_epoch"]
    result = dict(
        implementation="pytorch-reference",
        dataset=os.path.abspath(cfg["dataset.path"]),
        model=kind, config=cfg,
        num_runs=cfg["num_runs"], epochs=epochs, threads=args.threads,
        warmup_epochs_discarded=warmup_epochs(epochs),
        features="sparse", num_params=num_params,
        test_acc_mean=statistics.fmean(accs),
        test_acc_std=statistics.pstdev(accs),
        val_acc_mean=statistics.fmean(r["val_acc"] for r in runs),
        epoch_ms_median=1e3 * statistics.median(all_times),
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        rss_after_import_mib=baseline_rss_mib,
        torch_version=torch.__version__, python=platform.python_version(),
        blas=blas_libraries(),
        runs=runs,
    )
    print("reference %s on %s: test accuracy %.2f ± %.2f %% over %d runs, "
          "median epoch %.3f ms, peak RSS %.1f MiB"
          % (kind.upper(), data["name"], 100 * result["test_acc_mean"],
             100 * result["test_acc_std"], cfg["num_runs"], result["epoch_ms_median"],
             result["peak_rss_mib"]))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
