"""AWS's own SMP v1 MNIST example (fixtures/aws_smp_mnist/pt_mnist.py, unmodified in the tree) run
through smp-local with libsmp's smdistributed.modelparallel.torch, once with 2 pipeline partitions
(2 processes) and once with 1: both must print the same training losses and test result.

Only what a CPU machine without network needs is changed, each change asserted to apply exactly
once: the CUDA check and set_device, the device, the data root (the training channel, holding
fixtures/fashion-mnist-small in torchvision's MNIST layout) and the final S3 sync. torchnet (not in
Debian) is replaced by a stand-in SplitDataset.

    python3 test_aws_mnist.py SMP_LOCAL_BINARY
"""

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "fixtures", "aws_smp_mnist", "pt_mnist.py")
DATA = os.path.join(ROOT, "fixtures", "fashion-mnist-small")

EDITS = [
    # (what, exact text, replacement)
    ("CUDA requirement",
     '        raise ValueError("The script requires CUDA support, but CUDA not available")\n',
     "        pass  # smp-local test: runs on CPU\n"),
    ("set_device", "    torch.cuda.set_device(smp.local_rank())\n", ""),
    ("device", '    device = torch.device("cuda")\n', '    device = torch.device("cpu")\n'),
    ("data root (train, download)", 'datasets.MNIST("../data", train=True, download=True,',
     'datasets.MNIST(os.environ["SM_CHANNEL_TRAINING"], train=True, download=True,'),
    ("data root (train)", 'datasets.MNIST("../data", train=True, download=False,',
     'datasets.MNIST(os.environ["SM_CHANNEL_TRAINING"], train=True, download=False,'),
    ("data root (test)", 'datasets.MNIST("../data", train=False,',
     'datasets.MNIST(os.environ["SM_CHANNEL_TRAINING"], train=False,'),
    ("final S3 sync",
     '        sync_local_checkpoints_to_s3(local_path="/opt/ml/local_checkpoints", s3_path=full_s3_path)\n',
     ""),
]

SPLIT_DATASET = '''
"""Stand-in for torchnet.dataset.SplitDataset (torchnet is not packaged by Debian)."""


class SplitDataset:
    def __init__(self, dataset, partitions):
        self.dataset = dataset
        names = list(partitions)
        total = len(dataset)
        self.ranges, start = {}, 0
        for i, name in enumerate(names):
            size = int(round(partitions[name] * total)) if i < len(names) - 1 else total - start
            self.ranges[name] = (start, start + size)
            start += size
        self.current = names[0]

    def select(self, name):
        self.current = name

    def __len__(self):
        lo, hi = self.ranges[self.current]
        return hi - lo

    def __getitem__(self, i):
        lo, hi = self.ranges[self.current]
        if not 0 <= i < hi - lo:
            raise IndexError(i)
        return self.dataset[lo + i]
'''


def prepare_source(dest):
    with open(EXAMPLE) as f:
        text = f.read()
    for what, old, new in EDITS:
        count = text.count(old)
        if count != 1:
            raise SystemExit(f"edit '{what}' matches {count} times in pt_mnist.py (expected 1)")
        text = text.replace(old, new)
    os.makedirs(os.path.join(dest, "torchnet"))
    with open(os.path.join(dest, "pt_mnist.py"), "w") as f:
        f.write(text)
    with open(os.path.join(dest, "torchnet", "__init__.py"), "w") as f:
        f.write("")
    with open(os.path.join(dest, "torchnet", "dataset.py"), "w") as f:
        f.write(SPLIT_DATASET)


def prepare_channel(dest):
    raw = os.path.join(dest, "MNIST", "raw")
    os.makedirs(raw)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(DATA, name + ".gz")) as src, open(os.path.join(raw, name), "wb") as out:
            shutil.copyfileobj(src, out)


def run(smp_local, work, partitions):
    spec = {
        "entry_point": "pt_mnist.py",
        "source_dir": os.path.join(work, "src"),
        "instance_type": "ml.p3.16xlarge",
        "instance_count": 1,
        "framework_version": "1.13.1",
        "py_version": "py39",
        "base_job_name": f"aws-mnist-pp{partitions}",
        "distribution": {
            "smdistributed": {"modelparallel": {"enabled": True, "parameters": {
                "partitions": partitions, "microbatches": 4, "placement_strategy": "spread",
                "pipeline": "interleaved", "optimize": "speed", "ddp": True}}},
            "mpi": {"enabled": True, "processes_per_host": partitions},
        },
        "inputs": {"training": os.path.join(work, "channel")},
        "max_run": 900,
    }
    path = os.path.join(work, f"job-pp{partitions}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    jobs = os.path.join(work, "jobs")
    proc = subprocess.run([smp_local, "run", path, "--jobs-dir", jobs, "--cpu", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=900)
    record = json.loads(proc.stdout) if proc.stdout.strip() else {}
    name = record.get("TrainingJobName", "")
    log = os.path.join(jobs, name, "logs", "algo-1.log")
    text = open(log).read() if name and os.path.exists(log) else proc.stderr
    if proc.returncode != 0:
        print(text[-6000:])
        raise SystemExit(f"pp={partitions}: smp-local exited {proc.returncode}: "
                         f"{record.get('FailureReason', '')}")
    lines = [re.sub(r"^\[1,mpirank:\d+,algo-\d+\]<stdout>:", "", l) for l in text.splitlines()]
    train = [l for l in lines if l.startswith("Train Epoch:")]
    test = [l for l in lines if l.startswith("Test set:")]
    return train, test


def main():
    smp_local = sys.argv[1]
    work = tempfile.mkdtemp(prefix="aws-mnist-")
    try:
        prepare_source(os.path.join(work, "src"))
        prepare_channel(os.path.join(work, "channel"))
        results = {pp: run(smp_local, work, pp) for pp in (1, 2)}
        for pp, (train, test) in results.items():
            print(f"pp={pp}:\n  " + "\n  ".join(train + test))
        (train1, test1), (train2, test2) = results[1], results[2]
        if not train1 or not test1:
            raise SystemExit("the example printed no training losses or test result")
        if train1 != train2 or test1 != test2:
            raise SystemExit("FAIL: pp=2 printed other losses than pp=1")
        print("1 passed, 0 failed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
