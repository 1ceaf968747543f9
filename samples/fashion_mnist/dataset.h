#pragma once
// Dataset: Fashion-MNIST as tensors — loaded from a SageMaker channel directory holding the four
// IDX .gz files, and cut into this data-parallel replica's share.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace fashion_mnist {

struct Dataset {
  at::Tensor images;  // float32 [N, 1, 28, 28], normalized with the data set's mean and std
  at::Tensor labels;  // int64 [N], class 0..9
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

enum class Split { kTrain, kTest };

// Reads <dir>/train-{images-idx3,labels-idx1}-ubyte.gz or <dir>/t10k-….gz.
// Throws std::runtime_error with the missing or broken file and how to provide it.
Dataset load_fashion_mnist(const std::string& dir, Split split);

// The rows `index` (int64) of `data`.
Dataset select(const Dataset& data, const at::Tensor& index);

// This replica's share, as SMP's example shards by dp_rank: the rows in a seeded order (the same
// on every rank), cut into dp_size equal contiguous pieces; piece dp_rank. The remainder (< dp_size
// rows) is dropped so that every replica runs the same number of steps — DDP's allreduce needs it.
Dataset shard(const Dataset& data, int dp_rank, int dp_size, uint64_t seed);

}  // namespace fashion_mnist
