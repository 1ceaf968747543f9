#include "samples/fashion_mnist/idx_reader.h"

#include <zlib.h>

#include <memory>
#include <stdexcept>

namespace fashion_mnist {
namespace {

// Closes the gzFile on every path out of read_idx_gz.
struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

void read_exactly(gzFile f, void* buf, size_t n, const std::string& path, const char* what) {
  auto* out = static_cast<unsigned char*>(buf);
  while (n > 0) {
    // gzread takes an unsigned int count: read in chunks well below its limit.
    unsigned chunk = n > (1u << 30) ? (1u << 30) : static_cast<unsigned>(n);
    int got = gzread(f, out, chunk);
    if (got <= 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      throw std::runtime_error(path + ": truncated or corrupt IDX file while reading its " + what +
                               (err != Z_OK && msg ? std::string(" (zlib: ") + msg + ")" : "") +
                               ". Re-download or reinstall the data set.");
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
}

}  // namespace

IdxArray read_idx_gz(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f)
    throw std::runtime_error(
        path + ": cannot open (does the training channel hold the Fashion-MNIST files?)");
  unsigned char magic[4];
  read_exactly(f.get(), magic, 4, path, "header");
  // IDX magic: two zero bytes, the value type (0x08 = unsigned byte), the number of dimensions.
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0 || magic[3] > 4)
    throw std::runtime_error(path + ": not an IDX file of unsigned bytes (bad magic number)");
  IdxArray out;
  size_t total = 1;
  for (int i = 0; i < magic[3]; ++i) {
    unsigned char be[4];
    read_exactly(f.get(), be, 4, path, "dimension sizes");
    int64_t d = (int64_t{be[0]} << 24) | (int64_t{be[1]} << 16) | (int64_t{be[2]} << 8) | be[3];
    out.dims.push_back(d);
    total *= static_cast<size_t>(d);
  }
  out.data.resize(total);
  read_exactly(f.get(), out.data.data(), total, path, "values");
  return out;
}

}  // namespace fashion_mnist
