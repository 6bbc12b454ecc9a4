"""PyTorch CPU baseline for `make bench` (the train part, `bench_train.rs`).

The research's training loop (docs/science.md: the notebook's loop and the experiment table) written
in plain PyTorch, run on the same cached features and the same TrainConfig as the pipeline's
Burn loop, and timed the same way: the marginal cost of an epoch, (12-epoch run - 2-epoch run) / 10,
best of three.
Each epoch includes its validation pass (loss and R@1), as the pipeline's does.

Usage: python bench_train_torch.py INPUT_DIR NAME...
INPUT_DIR holds {train,val}_{image,text,reference}.npy (float32, rows already paired) and
config-NAME.json (a serialised TrainConfig). Prints one JSON object per NAME.
bench_train.rs writes the inputs and runs this where `import torch` works.
"""

import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def adapter(cfg, d_in, d_out):
    """linear: Linear -> LayerNorm. mlp: per hidden dim Linear -> act -> [LayerNorm] -> Dropout,
    then Linear -> [LayerNorm]."""
    mlp = cfg["adapter"] == "mlp"
    norm = cfg["layer_norm"] if mlp else True
    layers, width = [], d_in
    for h in cfg["mlp_hidden_dims"] if mlp else []:
        layers += [nn.Linear(width, h), nn.GELU() if cfg["activation"] == "gelu" else nn.ReLU()]
        if norm:
            layers.append(nn.LayerNorm(h))
        layers.append(nn.Dropout(cfg["dropout"]))
        width = h
    layers.append(nn.Linear(width, d_out))
    if norm:
        layers.append(nn.LayerNorm(d_out))
    return nn.Sequential(*layers)


def loss_parts(a, b, r, cfg):
    """Bidirectional contrastive loss with label smoothing, plus variance matching to r."""
    an, bn = F.normalize(a, dim=1), F.normalize(b, dim=1)
    logits = an @ bn.T / cfg["temperature"]
    labels = torch.arange(len(a))
    ls = cfg["label_smoothing"]
    con = (
        F.cross_entropy(logits, labels, label_smoothing=ls)
        + F.cross_entropy(logits.T, labels, label_smoothing=ls)
    ) / 2
    if not cfg["distribution_matching"]:
        return con, con, torch.zeros(())
    vr = r.var(0)
    var = (((a.var(0) - vr) ** 2).mean() + ((b.var(0) - vr) ** 2).mean()) / 2
    return con + cfg["variance_weight"] * var, con, var


def lr_at(cfg, step, warmup, total):
    if step < warmup:
        return cfg["lr"] * step / max(warmup, 1)
    p = (step - warmup) / max(total - warmup, 1)
    cosine = max(0.0, 0.5 * (1 + math.cos(2 * math.pi * cfg["num_cycles"] * p)))
    return cfg["min_lr"] + (cfg["lr"] - cfg["min_lr"]) * cosine


def train(cfg, data, epochs):
    torch.manual_seed(cfg["seed"])
    ti, tt, tr = data["train_image"], data["train_text"], data["train_reference"]
    d_embed = cfg["embed_dim"] or tr.shape[1]
    img, txt = adapter(cfg, ti.shape[1], d_embed), adapter(cfg, tt.shape[1], d_embed)
    params = list(img.parameters()) + list(txt.parameters())
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"], eps=1e-8)
    accum = max(cfg["gradient_accumulation_steps"], 1)
    n = len(ti)
    micro = math.ceil(n / cfg["batch_size"])
    steps_per_epoch = math.ceil(micro / accum)
    warmup, total = cfg["warmup_epochs"] * steps_per_epoch, epochs * steps_per_epoch
    step = 0
    history = []
    for epoch in range(1, epochs + 1):
        img.train(), txt.train()
        g = torch.Generator().manual_seed(cfg["seed"] * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g)
        chunks = order.split(cfg["batch_size"])
        opt.zero_grad(set_to_none=True)
        for i, rows in enumerate(chunks):
            total_loss, _, _ = loss_parts(img(ti[rows]), txt(tt[rows]), tr[rows], cfg)
            (total_loss / accum).backward()
            if (i + 1) % accum == 0 or i + 1 == len(chunks):
                torch.nn.utils.clip_grad_norm_(params, cfg["clip_grad_norm"])
                for group in opt.param_groups:
                    group["lr"] = lr_at(cfg, step, warmup, total)
                opt.step()
                opt.zero_grad(set_to_none=True)
                step += 1
        img.eval(), txt.eval()
        with torch.no_grad():
            a, b = img(data["val_image"]), txt(data["val_text"])
            val, _, _ = loss_parts(a, b, data["val_reference"], cfg)
            sim = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
            r1 = (sim.argmax(1) == torch.arange(len(a))).float().mean()
        history.append((epoch, float(val), float(r1)))
    return history


def main():
    root, names = sys.argv[1], sys.argv[2:]
    # The same cores the Burn loop uses.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    data = {
        f"{split}_{m}": torch.from_numpy(np.load(os.path.join(root, f"{split}_{m}.npy")))
        for split in ("train", "val")
        for m in ("image", "text", "reference")
    }
    for name in names:
        with open(os.path.join(root, f"config-{name}.json")) as f:
            cfg = json.load(f)
        train(cfg, data, 1)  # warm-up: first-call allocations and kernel dispatch
        per_epoch = math.inf
        for _ in range(3):
            times = {}
            for epochs in (2, 12):
                start = time.perf_counter()
                history = train(cfg, data, epochs)
                times[epochs] = time.perf_counter() - start
            per_epoch = min(per_epoch, (times[12] - times[2]) / 10)
        print(
            json.dumps(
                {
                    "name": name,
                    "epoch_s": per_epoch,
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "final_val_loss": history[-1][1],
                    "final_val_r1": history[-1][2],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
