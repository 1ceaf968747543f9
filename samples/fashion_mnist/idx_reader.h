#pragma once
// IDX reader: the MNIST file format (magic, dimension sizes, raw values), read straight from the
// .gz files the data sets ship as — zlib inflates while reading, so there is no extraction step.

#include <cstdint>
#include <string>
#include <vector>

namespace fashion_mnist {

// IdxArray: one IDX file's unsigned-byte array and its shape.
struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> data;  // row-major, dims' product bytes
};

// Reads an IDX file of unsigned bytes (type 0x08). zlib also reads an uncompressed file unchanged.
// Throws std::runtime_error naming the file and what is wrong with it.
IdxArray read_idx_gz(const std::string& path);

}  // namespace fashion_mnist
