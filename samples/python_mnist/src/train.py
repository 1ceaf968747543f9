"""A plain PyTorch training script (no smp) run as SageMaker runs a PyTorch estimator's entry point.

It reads Fashion-MNIST's IDX .gz files from the "training" channel (SM_CHANNEL_TRAINING), trains a
small multilayer perceptron briefly, prints the test accuracy and saves the model's state dict to
SM_MODEL_DIR/model.pt (SageMaker packs that directory into model.tar.gz).
Hyperparameters arrive as `--key value` arguments, as the SageMaker training toolkit passes them.
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np
import torch
from torch import nn


def read_idx(path):
    """An IDX file of unsigned bytes as a numpy array (read through gzip, no extraction step)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(channel, prefix):
    images = read_idx(os.path.join(channel, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(channel, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(len(images), -1)
    return (x - 0.2860) / 0.3530, torch.from_numpy(labels.astype(np.int64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=int, default=0, help="stop each epoch after this many steps (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    args, unknown = parser.parse_known_args()
    if unknown:
        print(f"ignoring unknown arguments {unknown}")

    channel = os.environ.get("SM_CHANNEL_TRAINING")
    if not channel:
        raise SystemExit("SM_CHANNEL_TRAINING is not set: run this through smp-local or SageMaker with a "
                         "'training' channel holding Fashion-MNIST's IDX .gz files")
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    x_train, y_train = load(channel, "train")
    x_test, y_test = load(channel, "t10k")
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train))
        steps = len(x_train) // args.batch_size
        if args.max_steps > 0:
            steps = min(steps, args.max_steps)
        total = 0.0
        for s in range(steps):
            idx = order[s * args.batch_size:(s + 1) * args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            accuracy = 100.0 * (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch}/{args.epochs}: train_loss={total / max(steps, 1):.4f} "
              f"test_accuracy={accuracy:.2f}% ({len(x_test)} test images)", flush=True)

    os.makedirs(model_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(model_dir, "model.pt"))
    with open(os.path.join(model_dir, "model.json"), "w") as f:
        json.dump({"layers": [784, 64, 10], "test_accuracy": accuracy, "framework": torch.__version__}, f)
    print(f"model saved to {model_dir}/model.pt")


if __name__ == "__main__":
    main()
