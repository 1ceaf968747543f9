// ParallelGzipWriter: the output is one standard gzip member whatever the threads and block size.
#include "emulator/archive/parallel_gzip.h"

#include <fcntl.h>
#include <zlib.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "emulator/archive/archive_error.h"
#include "emulator/archive/unique_fd.h"
#include "tests/emulator/archive/test_support.h"

using namespace smplocal::archive;
using namespace smplocal::archive::testing;

namespace {

// Compresses `data` in pieces of `chunk` bytes to a file and returns the file's bytes.
std::string compress(const TempDir& dir, const std::string& data, unsigned threads,
                     std::size_t block, std::size_t chunk = 1000, int level = 6) {
  const auto path = dir / "out.gz";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  ParallelGzipWriter gz(fd.get(), threads, level, block);
  for (std::size_t i = 0; i < data.size(); i += chunk) {
    gz.write(data.data() + i, std::min(chunk, data.size() - i));
  }
  gz.finish();
  CHECK(gz.input_bytes() == data.size());
  const std::string out = read_file(path);
  CHECK(gz.output_bytes() == out.size());
  return out;
}

// Inflates exactly one gzip member and requires it to end exactly at the end of `gz`.
std::string gunzip_single_member(const std::string& gz) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 16 + 15) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  int rc;
  do {
    char buf[65536];
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc != Z_STREAM_END);
  CHECK(z.avail_in == 0);  // nothing after the first member's trailer
  inflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("parallel gzip round-trips every size as one member", "[archive][gzip]") {
  TempDir dir;
  const std::size_t block = 4096;
  const std::size_t size = GENERATE(0, 1, 4095, 4096, 4097, 3 * 4096, 100000, 1 << 20);
  const unsigned threads = GENERATE(1u, 4u);
  const std::string data = sample_bytes(size, static_cast<std::uint32_t>(size));
  const std::string gz = compress(dir, data, threads, block);
  REQUIRE(gz.size() >= 18);
  CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
  CHECK(gunzip_single_member(gz) == data);
  CHECK(run({"gzip", "-t", (dir / "out.gz").string()}).status == 0);
}

TEST_CASE("parallel gzip output does not depend on the thread count", "[archive][gzip]") {
  TempDir dir;
  const std::string data = sample_bytes(600000, 7);
  const std::string one = compress(dir, data, 1, 1 << 15, 777);
  const std::string four = compress(dir, data, 4, 1 << 15, 65536);
  CHECK(one == four);  // reproducible archives: same input, same bytes
}

TEST_CASE("dictionary priming keeps the ratio close to serial gzip", "[archive][gzip]") {
  TempDir dir;
  const std::string data = sample_bytes(2 << 20, 11);
  const std::string parallel = compress(dir, data, 2, 128 << 10, 1 << 20);
  uLongf serial_size = compressBound(static_cast<uLong>(data.size()));
  std::string serial(serial_size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(serial.data()), &serial_size,
                    reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()),
                    6) == Z_OK);
  CHECK(parallel.size() < serial_size * 101 / 100);  // within 1 % of one serial deflate stream
}

TEST_CASE("parallel gzip reports a full disk", "[archive][gzip]") {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (!full) SKIP("no /dev/full");
  const std::string data = sample_bytes(1 << 20, 3);
  auto attempt = [&] {
    ParallelGzipWriter gz(full.get(), 2, 6, 4096);
    for (int i = 0; i < 8; ++i) gz.write(data.data(), data.size());
    gz.finish();
  };
  CHECK_THROWS_AS(attempt(), ArchiveError);
}

TEST_CASE("parallel gzip rejects bad options with advice", "[archive][gzip]") {
  CHECK_THROWS_AS(ParallelGzipWriter(1, 1, 12, 1 << 17), ArchiveError);
  CHECK_THROWS_AS(ParallelGzipWriter(1, 1, 6, 10), ArchiveError);
}
