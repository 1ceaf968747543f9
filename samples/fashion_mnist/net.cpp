#include "samples/fashion_mnist/net.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>

namespace fashion_mnist {

namespace F = torch::nn::functional;

ConvBlockImpl::ConvBlockImpl() {
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, kChannels1, 3)));
  conv2 = register_module("conv2",
                          torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels1, kChannels2, 3)));
  dropout = register_module("dropout", torch::nn::Dropout2d(0.25));
}

at::Tensor ConvBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = F::relu(conv1->forward(x));
  h = F::relu(conv2->forward(h));
  h = F::max_pool2d(h, F::MaxPool2dFuncOptions(2));
  return dropout->forward(h).flatten(1);
}

DenseBlockImpl::DenseBlockImpl() {
  fc1 = register_module("fc1", torch::nn::Linear(ConvBlockImpl::kFeatures, kHidden));
  fc2 = register_module("fc2", torch::nn::Linear(kHidden, 10));
  dropout = register_module("dropout", torch::nn::Dropout(0.5));
}

at::Tensor DenseBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = dropout->forward(F::relu(fc1->forward(x)));
  return F::log_softmax(fc2->forward(h), F::LogSoftmaxFuncOptions(1));
}

GroupedNetImpl::GroupedNetImpl() {
  net1 = register_module("net1", ConvBlock());
  net2 = register_module("net2", DenseBlock());
}

}  // namespace fashion_mnist
