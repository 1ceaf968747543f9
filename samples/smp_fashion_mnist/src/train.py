"""SageMaker's model-parallel MNIST example, as a Python SMP v1 script, on Fashion-MNIST.

The estimator (job.json) is the SageMaker developer guide's: one ml.p3.16xlarge, 8 processes,
2 pipeline partitions x 4 data-parallel replicas, 4 microbatches, `interleaved`, `spread`, ddp.
The script is written as for SageMaker: `import smdistributed.modelparallel.torch as smp`, the
model wrapped in smp.DistributedModel, the optimizer in smp.DistributedOptimizer, one @smp.step
for training and one for evaluation. Each data-parallel replica reads its own shard of the
"training" channel (Fashion-MNIST's IDX .gz files). After every epoch it saves a partial
checkpoint to /opt/ml/checkpoints (a rerun resumes from it) and the metrics to
SM_OUTPUT_DATA_DIR/metrics.json; at the end the full model goes to SM_MODEL_DIR/model.pt.
Hyperparameters arrive as `--key value` arguments, as the SageMaker training toolkit passes them.
"""

import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import StepLR

import smdistributed.modelparallel.torch as smp


class ConvBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.dropout = nn.Dropout2d(0.25)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return torch.flatten(self.dropout(x), 1)


class DenseBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32 * 12 * 12, 64)
        self.fc2 = nn.Linear(64, 10)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        x = self.dropout(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), 1)


class GroupedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net1 = ConvBlock()
        self.net2 = DenseBlock()

    def forward(self, x):
        return self.net2(self.net1(x))


@smp.step
def train_step(model, data, target):
    output = model(data)
    loss = F.nll_loss(output, target)
    model.backward(loss)
    return output, loss


@smp.step
def test_step(model, data, target):
    output = model(data)
    loss = F.nll_loss(output, target, reduction="sum").item()
    correct = output.argmax(dim=1).eq(target).sum().item()
    return loss, correct


def read_idx(path):
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
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - 0.2860) / 0.3530, torch.from_numpy(labels.astype(np.int64))


def shard(x, y, rank, size):
    n = len(x) // size
    return x[rank * n:(rank + 1) * n], y[rank * n:(rank + 1) * n]


def train(model, optimizer, x, y, args, epoch, device):
    model.train()
    torch.manual_seed(args.seed * 1000003 + epoch)  # dropout's stream, the same after a resume
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(args.seed * 1000003 + epoch))
    steps = len(x) // args.batch_size
    if args.max_steps > 0:
        steps = min(steps, args.max_steps)
    total = steps * args.batch_size * smp.dp_size()
    losses = []
    for s in range(steps):
        idx = order[s * args.batch_size:(s + 1) * args.batch_size]
        optimizer.zero_grad()
        _, loss_mb = train_step(model, x[idx].to(device), y[idx].to(device))
        optimizer.step()
        loss = loss_mb.reduce_mean().item()
        losses.append(loss)
        if smp.rank() == 0 and (s % args.log_interval == 0 or s + 1 == steps):
            seen = (s + 1) * args.batch_size * smp.dp_size()
            print(f"Train Epoch: {epoch} [{seen}/{total} ({100.0 * seen / total:.0f}%)]\tLoss: {loss:.6f}",
                  flush=True)
    mean = sum(losses) / max(1, len(losses))
    return sum(smp.allgather(mean, smp.DP_GROUP)) / smp.dp_size(), steps


def evaluate(model, x, y, args, device):
    model.eval()
    loss_sum = correct = seen = 0
    m = smp.num_microbatches()
    with torch.no_grad():
        for start in range(0, len(x), args.test_batch_size):
            n = min(args.test_batch_size, len(x) - start)
            n -= n % m
            if n == 0:
                break
            losses, corrects = test_step(model, x[start:start + n].to(device), y[start:start + n].to(device))
            loss_sum += sum(losses)
            correct += sum(corrects)
            seen += n
    totals = [sum(v) for v in zip(*smp.allgather((loss_sum, correct, seen), smp.DP_GROUP))]
    return totals[0] / max(1, totals[2]), int(totals[1]), int(totals[2])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=50)
    parser.add_argument("--max-steps", type=int, default=0, help="per epoch; 0 = all")
    parser.add_argument("--num-kept-checkpoints", type=int, default=2)
    args, unknown = parser.parse_known_args()

    smp.init()
    torch.set_num_threads(1)
    device = torch.device("cuda", smp.local_rank()) if torch.cuda.is_available() else torch.device("cpu")
    channel = os.environ.get("SM_CHANNEL_TRAINING")
    if not channel:
        raise SystemExit("SM_CHANNEL_TRAINING is not set: run this through smp-local or SageMaker")
    if unknown and smp.rank() == 0:
        print(f"ignoring unknown arguments {unknown}", flush=True)

    x_train, y_train = shard(*load(channel, "train"), smp.dp_rank(), smp.dp_size())
    x_test, y_test = shard(*load(channel, "t10k"), smp.dp_rank(), smp.dp_size())

    torch.manual_seed(args.seed)
    model = smp.DistributedModel(GroupedNet())
    optimizer = smp.DistributedOptimizer(torch.optim.Adam(model.parameters(), lr=args.lr))
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    checkpoints = "/opt/ml/checkpoints"
    first_epoch = 1
    if os.path.exists(os.path.join(checkpoints, "newest")):
        done = smp.resume_from_checkpoint(checkpoints)["epoch"]
        for _ in range(done):
            scheduler.step()
        first_epoch = done + 1
        if smp.rank() == 0:
            print(f"resumed from the checkpoint of epoch {done}", flush=True)

    metrics = {"epochs": []}
    output_dir = os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    for epoch in range(first_epoch, args.epochs + 1):
        start = time.time()
        train_loss, steps = train(model, optimizer, x_train, y_train, args, epoch, device)
        test_loss, correct, seen = evaluate(model, x_test, y_test, args, device)
        scheduler.step()
        accuracy = 100.0 * correct / max(1, seen)
        if smp.rank() == 0:
            print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{seen} ({accuracy:.2f}%)\n",
                  flush=True)
        metrics["epochs"].append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss,
                                  "test_accuracy": accuracy, "steps": steps,
                                  "seconds": round(time.time() - start, 3)})
        smp.save_checkpoint(checkpoints, f"epoch_{epoch}", partial=True, model=model,
                            optimizer=optimizer, user_content={"epoch": epoch},
                            num_kept_partial_checkpoints=args.num_kept_checkpoints)
        if smp.rank() == 0:
            os.makedirs(output_dir, exist_ok=True)
            with open(os.path.join(output_dir, "metrics.json"), "w") as f:
                json.dump(metrics, f, indent=2)

    # The full model, gathered over the pipeline on each replica's pp_rank 0; rank 0 writes it.
    state = model.state_dict()
    if smp.rank() == 0:
        model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
        os.makedirs(model_dir, exist_ok=True)
        torch.save(state, os.path.join(model_dir, "model.pt"))
        print(f"model saved to {model_dir}/model.pt", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # SageMaker's convention: the reason goes to /opt/ml/output/failure
        try:
            out = os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")
            with open(os.path.join(out, "failure"), "w") as f:
                f.write(f"{type(e).__name__}: {e}")
        except OSError:
            pass
        raise
