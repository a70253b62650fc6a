#!/usr/bin/python3
"""Plain-PyTorch reference GCN (Kipf & Welling) on a Locus dataset: a thin wrapper kept for
old command lines. It runs bench/reference.py with --model gcn and the Locus config
apps/configs/cora_gcn.yaml (2 layers, 16 hidden, ReLU, dropout 0.5, Adam lr 0.01, weight
decay 5e-4 on the first layer, row-normalised features, 200 epochs); every argument is passed
through, so --dataset, --runs, --seed, --epochs, --threads, --json, --quiet, a different
--config and key=value overrides all work as in reference.py (see its docstring for the model,
the protocol and the JSON keys).

  /usr/bin/python3 bench/gcn_reference.py --dataset ../shared/datasets/cora/dataset.yaml \
      --runs 10 --threads 2 --json out.json
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import reference  # noqa: E402  (bench/reference.py)

if __name__ == "__main__":
    config = os.path.join(here, "..", "apps", "configs", "cora_gcn.yaml")
    argv = sys.argv[1:]
    if not any(a == "--config" or a.startswith("--config=") for a in argv):
        argv = ["--config", os.path.normpath(config)] + argv
    sys.exit(reference.main(["--model", "gcn"] + argv, prog="gcn_reference.py"))
