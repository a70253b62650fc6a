#!/usr/bin/python3
"""The PyG 2.4 side of bench/pyg_speed.sh: ../shared/anchors/pyg_anchor.py's `worker` (which
times PyG's GCN, GAT and GraphSAGE on a dataset folder), with one more model, `gin`, built as
Locus's GIN (layers/gin: h' = MLP((1 + ε) h + Σ neighbours), MLP = Linear(in, out), ReLU,
Linear(out, out), ε learnable from 0): PyG's GINConv(train_eps=True), 2 layers, hidden 64,
ReLU between layers, dropout 0.5 on the input and the hidden layer, Adam lr 0.01, L2 5e-4, as
apps/configs/cora_gin.yaml.

  PYTHONPATH=/tmp/pyg /usr/bin/python3 bench/pyg_worker.py ANCHORS_DIR worker --dataset DIR \
      --model gin --seeds 0 --warmup 10 --timed 50 --result out.json

ANCHORS_DIR is the folder holding pyg_anchor.py; the rest are pyg_anchor.py's arguments. A
benchmark reference only: nothing in Locus imports PyG.
"""
import os
import sys

if len(sys.argv) < 2 or not os.path.isfile(os.path.join(sys.argv[1], "pyg_anchor.py")):
    sys.exit("usage: pyg_worker.py ANCHORS_DIR worker ... (ANCHORS_DIR must hold pyg_anchor.py)")
sys.path.insert(0, sys.argv.pop(1))
import pyg_anchor  # noqa: E402

anchor_models = pyg_anchor.build_model


def build_model(kind, nin, nout, dataset):
    if kind != "gin":
        return anchor_models(kind, nin, nout, dataset)
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import GINConv

    def mlp(fan_in, fan_out):
        return torch.nn.Sequential(torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU(),
                                   torch.nn.Linear(fan_out, fan_out))

    class GIN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = GINConv(mlp(nin, 64), train_eps=True)
            self.c2 = GINConv(mlp(64, nout), train_eps=True)

        def forward(self, x, ei):
            x = F.relu(self.c1(x, ei))
            x = F.dropout(x, 0.5, self.training)
            return self.c2(x, ei)

    return GIN(), dict(lr=0.01, weight_decay=5e-4, in_drop=0.5), \
        "GIN 2 layers, hidden 64, MLP Linear-ReLU-Linear, learnable eps, dropout 0.5 (input+hidden)"


pyg_anchor.build_model = build_model  # the worker looks the name up at call time
pyg_anchor.main()
