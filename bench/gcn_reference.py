#!/usr/bin/python3
"""Plain-PyTorch reference GCN (Kipf & Welling, ICLR 2017) for side-by-side benchmarks.

No PyTorch Geometric: the graph, the features and the normalised adjacency are built here
from a dataset in the Locus dataset-YAML schema (see ../shared/datasets/README.md).

Model and training, as in Kipf & Welling / PyG's examples/gcn.py:
  * features row-normalised (each row divided by its sum; all-zero rows stay zero);
    a dataset without features gets one-hot (identity) features
  * A_hat = D^-1/2 (A + I) D^-1/2 as a torch sparse COO tensor (A symmetric unless the
    dataset says `directed: true`; D = row sums of A + I)
  * out = A_hat · (drop(relu(A_hat · (drop(X) W1) + b1)) W2) + b2, hidden 16,
    dropout 0.5 on the input and on the hidden layer, Glorot-uniform weights, zero biases
  * features kept as a torch sparse tensor (the fast choice on CPU; input dropout acts on
    the stored non-zeros, as in Kipf's sparse_dropout)
  * log-softmax + NLL on the training nodes; Adam lr 0.01; weight decay 5e-4 (coupled L2,
    like Kipf's loss term) on the first layer's parameters only (W1 and b1, as PyG's example)
  * 200 epochs, no early stopping; after every epoch an evaluation pass (no dropout) gives
    validation and test accuracy; a run reports the test accuracy of the first epoch with
    the best validation accuracy (the last epoch when the validation set is empty)
  * run r uses seed S + r (torch.manual_seed)

Timing: each training epoch (dropout masks, forward, loss, backward, optimizer step;
evaluation excluded) is timed with time.perf_counter; the first 10 epochs of every run are
warm-up and discarded; epoch_ms_median is the median over all remaining epochs of all runs.
peak_rss_mib is the process's peak resident set (getrusage ru_maxrss, KiB -> MiB),
which includes the Python interpreter and the torch library (rss_after_import_mib in the
JSON is the peak RSS before the dataset is read, for context).

Usage:
  /usr/bin/python3 bench/gcn_reference.py --dataset ../shared/datasets/cora/dataset.yaml \
      --runs 10 --seed 0 --epochs 200 --threads 2 --json out.json

JSON keys: test_acc_mean, test_acc_std (fractions in [0, 1]; std is the population
standard deviation over runs, ddof=0, as `locus train` reports it), epoch_ms_median,
peak_rss_mib, runs (a list of {seed, test_acc, best_epoch, val_acc, epoch_ms_median}),
plus descriptive extras.

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
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - environment problem, explained to the user
    sys.exit("gcn_reference.py: cannot import torch with %s. On Debian 12 run\n"
             "    apt-get install -y python3-torch\n"
             "and call this script with /usr/bin/python3 (a pyenv/venv python3 does not "
             "see Debian's packages)." % sys.executable)

WARMUP_EPOCHS = 10


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


# --------------------------------------------------------------------------- GCN
def row_normalize(x):
    """Each row divided by its sum (rows summing to 0 stay 0); x sparse COO, coalesced."""
    idx, val = x.indices(), x.values()
    rowsum = torch.zeros(x.shape[0]).index_add_(0, idx[0], val)
    inv = torch.where(rowsum != 0, 1.0 / rowsum, torch.zeros_like(rowsum))
    return torch.sparse_coo_tensor(idx, val * inv[idx[0]], x.shape).coalesce()


def normalized_adjacency(edges, n):
    """D^-1/2 (A + I) D^-1/2 as sparse COO; A[dst, src] = weight."""
    entries = dict(edges)
    for i in range(n):
        entries[(i, i)] = entries.get((i, i), 0.0) + 1.0
    keys = list(entries.keys())
    idx = torch.tensor(keys, dtype=torch.long).t()
    w = torch.tensor([entries[k] for k in keys], dtype=torch.float32)
    deg = torch.zeros(n).index_add_(0, idx[0], w)
    dinv = deg.pow(-0.5)
    dinv[torch.isinf(dinv)] = 0.0
    w = dinv[idx[0]] * w * dinv[idx[1]]
    return torch.sparse_coo_tensor(idx, w, (n, n)).coalesce()


def glorot_(t):
    a = math.sqrt(6.0 / (t.shape[0] + t.shape[1]))
    with torch.no_grad():
        t.uniform_(-a, a)
    return t


class GCN(torch.nn.Module):
    def __init__(self, in_dim, hidden, out_dim, dropout):
        super().__init__()
        self.w1 = torch.nn.Parameter(glorot_(torch.empty(in_dim, hidden)))
        self.b1 = torch.nn.Parameter(torch.zeros(hidden))
        self.w2 = torch.nn.Parameter(glorot_(torch.empty(hidden, out_dim)))
        self.b2 = torch.nn.Parameter(torch.zeros(out_dim))
        self.p = dropout

    def sparse_dropout(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x._nnz()) >= self.p
        vals = x.values() * keep / (1.0 - self.p)
        return torch.sparse_coo_tensor(x.indices(), vals, x.shape)._coalesced_(True)

    def forward(self, x, a_hat):
        h = torch.sparse.mm(self.sparse_dropout(x), self.w1)         # [N, hidden]
        h = torch.sparse.mm(a_hat, h) + self.b1
        h = F.relu(h)
        h = F.dropout(h, self.p, self.training)
        h = torch.sparse.mm(a_hat, h @ self.w2) + self.b2            # [N, classes]
        return F.log_softmax(h, dim=1)


def train_run(data, x, a_hat, seed, epochs, hidden=16, dropout=0.5, lr=0.01, wd=5e-4):
    torch.manual_seed(seed)
    model = GCN(x.shape[1], hidden, data["num_classes"], dropout)
    opt = torch.optim.Adam([
        dict(params=[model.w1, model.b1], weight_decay=wd),
        dict(params=[model.w2, model.b2], weight_decay=0.0),
    ], lr=lr)
    y, train, val, test = data["y"], data["train"], data["val"], data["test"]
    y_train = y[train]
    times, best_val, best_test, best_epoch = [], -1.0, 0.0, -1
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        out = model(x, a_hat)
        loss = F.nll_loss(out[train], y_train)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)

        model.eval()
        with torch.no_grad():
            pred = model(x, a_hat).argmax(dim=1)
            # An empty validation set (e.g. karate's 2/0/32 split) selects the last epoch.
            val_acc = int((pred[val] == y[val]).sum()) / len(val) if len(val) else 0.0
            test_acc = int((pred[test] == y[test]).sum()) / len(test) if len(test) else 0.0
        if val_acc > best_val or (len(val) == 0 and epoch == epochs - 1):
            best_val, best_test, best_epoch = val_acc, test_acc, epoch
    kept = times[WARMUP_EPOCHS:] if len(times) > WARMUP_EPOCHS else times
    return dict(seed=seed, test_acc=best_test, best_epoch=best_epoch, val_acc=best_val,
                epoch_ms_median=1e3 * statistics.median(kept)), kept


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", required=True, help="path to a dataset.yaml")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0, help="run r uses seed + r")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--quiet", action="store_true", help="no per-run lines")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.epochs < 1 or args.threads < 1:
        ap.error("--runs, --epochs and --threads must be >= 1")

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    # What `import torch` alone costs, for context: peak_rss_mib includes it.
    baseline_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t_load = time.perf_counter()
    try:
        data = load_dataset(args.dataset)
    except DatasetError as e:
        sys.exit("gcn_reference.py: %s" % e)
    x = row_normalize(data["x"])
    a_hat = normalized_adjacency(data["edges"], data["num_nodes"])
    load_s = time.perf_counter() - t_load
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    log("[reference] %s: %d nodes, %d directed edges, %d features (%d non-zeros), %d classes, "
        "%d/%d/%d split; loaded in %.2f s"
        % (data["name"], data["num_nodes"], len(data["edges"]), x.shape[1], x._nnz(),
           data["num_classes"], len(data["train"]), len(data["val"]), len(data["test"]), load_s))

    runs, all_times = [], []
    for r in range(args.runs):
        res, kept = train_run(data, x, a_hat, args.seed + r, args.epochs)
        runs.append(res)
        all_times.extend(kept)
        log("[reference] run %d seed %d: test acc %.4f (best val %.4f at epoch %d), "
            "epoch %.3f ms" % (r, res["seed"], res["test_acc"], res["val_acc"],
                               res["best_epoch"], res["epoch_ms_median"]))

    accs = [r["test_acc"] for r in runs]
    result = dict(
        implementation="pytorch-reference",
        dataset=os.path.abspath(args.dataset),
        num_runs=args.runs, epochs=args.epochs, threads=args.threads,
        warmup_epochs_discarded=WARMUP_EPOCHS if args.epochs > WARMUP_EPOCHS else 0,
        features="sparse",
        test_acc_mean=statistics.fmean(accs),
        test_acc_std=statistics.pstdev(accs),
        epoch_ms_median=1e3 * statistics.median(all_times),
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        rss_after_import_mib=baseline_rss_mib,
        torch_version=torch.__version__, python=platform.python_version(),
        runs=runs,
    )
    print("reference GCN on %s: test accuracy %.2f ± %.2f %% over %d runs, "
          "median epoch %.3f ms, peak RSS %.1f MiB"
          % (data["name"], 100 * result["test_acc_mean"], 100 * result["test_acc_std"],
             args.runs, result["epoch_ms_median"], result["peak_rss_mib"]))
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
