#include "samples/fashion_mnist/dataset.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <stdexcept>

#include "samples/fashion_mnist/idx_reader.h"

namespace fashion_mnist {
namespace {

// Fashion-MNIST's pixel mean and standard deviation over the training set (values in [0, 1]).
constexpr double kMean = 0.2860;
constexpr double kStd = 0.3530;

std::string need_file(const std::string& dir, const std::string& name) {
  std::filesystem::path p = std::filesystem::path(dir) / name;
  if (!std::filesystem::is_regular_file(p))
    throw std::runtime_error(
        "the training channel " + dir + " has no " + name +
        ". It must hold Fashion-MNIST's four IDX .gz files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), e.g. "
        "Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist (smp-local: "
        "-C training=/usr/share/datasets/fashion-mnist).");
  return p.string();
}

}  // namespace

Dataset load_fashion_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  std::string images_path = need_file(dir, prefix + "-images-idx3-ubyte.gz");
  std::string labels_path = need_file(dir, prefix + "-labels-idx1-ubyte.gz");
  IdxArray images = read_idx_gz(images_path);
  IdxArray labels = read_idx_gz(labels_path);
  if (images.dims.size() != 3 || images.dims[1] != 28 || images.dims[2] != 28)
    throw std::runtime_error(images_path + ": expected 28x28 images (dimensions N x 28 x 28)");
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0])
    throw std::runtime_error(labels_path + ": expected one label per image of " + images_path +
                             " (" + std::to_string(images.dims[0]) + ")");
  const int64_t n = images.dims[0];
  Dataset out;
  at::Tensor raw = at::from_blob(images.data.data(), {n, 1, 28, 28}, at::kByte);
  out.images = raw.to(at::kFloat).div_(255.0).sub_(kMean).div_(kStd);
  out.labels = at::from_blob(labels.data.data(), {n}, at::kByte).to(at::kLong);
  if (n > 0 && out.labels.max().item<int64_t>() > 9)
    throw std::runtime_error(labels_path + ": labels must be classes 0..9");
  return out;
}

Dataset select(const Dataset& data, const at::Tensor& index) {
  return {data.images.index_select(0, index), data.labels.index_select(0, index)};
}

Dataset shard(const Dataset& data, int dp_rank, int dp_size, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  at::Tensor order = at::randperm(data.size(), gen, at::kLong);
  const int64_t per = data.size() / dp_size;
  return select(data, order.narrow(0, dp_rank * per, per));
}

}  // namespace fashion_mnist
