#pragma once
// The sample's network, shaped like SageMaker's MNIST model-parallel example: GroupedNet = Net1
// (convolutions) then Net2 (fully connected). They are GroupedNet's two ordered children, so
// DistributedModel can place them on two pipeline stages. Narrower than the example's (16/32
// channels, 64 hidden units instead of 32/64/128) so that 8 ranks train an epoch on 2 CPU cores in
// a couple of minutes; it still reaches ~88 % test accuracy on Fashion-MNIST.

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace fashion_mnist {

// Net1: the convolutional block — [B,1,28,28] images → [B, kFeatures] features.
struct ConvBlockImpl : torch::nn::Module {
  static constexpr int64_t kChannels1 = 16, kChannels2 = 32;
  static constexpr int64_t kFeatures = kChannels2 * 12 * 12;  // after two 3x3 convs and a 2x2 pool
  ConvBlockImpl();
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Dropout2d dropout{nullptr};
};
TORCH_MODULE(ConvBlock);

// Net2: the fully-connected block — features → log-probabilities of the 10 classes.
struct DenseBlockImpl : torch::nn::Module {
  static constexpr int64_t kHidden = 64;
  DenseBlockImpl();
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DenseBlock);

// GroupedNet: Net1 then Net2, registered in that order (the order DistributedModel runs them in).
struct GroupedNetImpl : torch::nn::Module {
  GroupedNetImpl();
  at::Tensor forward(const at::Tensor& x) { return net2->forward(net1->forward(x)); }
  ConvBlock net1{nullptr};
  DenseBlock net2{nullptr};
};
TORCH_MODULE(GroupedNet);

}  // namespace fashion_mnist
