// SigV4 against AWS's published vectors: the aws-sig-v4-test-suite (2015 and the older 2011
// double-encoding cases, as carried by botocore and aws-c-auth) and the S3 API reference's
// worked examples. Each case pins the canonical request, the string to sign and the header.
#include <catch2/catch_test_macros.hpp>

#include "emulator/s3/client.h"
#include "emulator/s3/crypto.h"
#include "emulator/s3/sigv4.h"

using namespace smp::s3;

namespace {

constexpr const char* kSuiteKey = "AKIDEXAMPLE";
constexpr const char* kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SigningScope kSuite{"20150830T123600Z", "us-east-1", "service"};
const std::string kEmpty(kEmptySha256);

NameValues suite_headers(NameValues extra = {}) {
  NameValues h{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  for (auto& e : extra) h.push_back(e);
  return h;
}

std::string suite_authorization(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

}  // namespace

TEST_CASE("signing key derivation matches the SigV4 documentation", "[sigv4]") {
  CHECK(to_hex(signing_key(kSuiteSecret, "20150830", "us-east-1", "iam")) ==
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST_CASE("IAM ListUsers worked example", "[sigv4]") {
  SigningRequest r{"GET", "/", {{"Action", "ListUsers"}, {"Version", "2010-05-08"}},
                   {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                    {"Host", "iam.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                   kEmpty};
  auto s = sign_v4(r, {"20150830T123600Z", "us-east-1", "iam"}, kSuiteKey, kSuiteSecret);
  CHECK(s.canonical_request ==
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
        "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" + kEmpty);
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  CHECK(s.signature == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST_CASE("aws-sig-v4-test-suite get-vanilla", "[sigv4]") {
  auto s = sign_v4({"GET", "/", {}, suite_headers(), kEmpty}, kSuite, kSuiteKey, kSuiteSecret);
  CHECK(s.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            kEmpty);
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  CHECK(s.authorization ==
        suite_authorization("host;x-amz-date",
                            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST_CASE("aws-sig-v4-test-suite post-vanilla", "[sigv4]") {
  auto s = sign_v4({"POST", "/", {}, suite_headers(), kEmpty}, kSuite, kSuiteKey, kSuiteSecret);
  CHECK(s.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST_CASE("aws-sig-v4-test-suite get-vanilla-query-order-key-case", "[sigv4]") {
  auto s = sign_v4({"GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}, suite_headers(), kEmpty},
                   kSuite, kSuiteKey, kSuiteSecret);
  CHECK(s.canonical_request ==
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + kEmpty);
  CHECK(s.authorization ==
        suite_authorization("host;x-amz-date",
                            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST_CASE("aws-sig-v4-test-suite get-utf8, get-space, get-unreserved (paths)", "[sigv4]") {
  auto utf8 = sign_v4({"GET", "/\xE1\x88\xB4", {}, suite_headers(), kEmpty}, kSuite, kSuiteKey,
                      kSuiteSecret);
  CHECK(utf8.canonical_request.rfind("GET\n/%E1%88%B4\n\n", 0) == 0);
  CHECK(utf8.signature == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");

  auto space = sign_v4({"GET", "/example space/", {}, suite_headers(), kEmpty}, kSuite, kSuiteKey,
                       kSuiteSecret);
  CHECK(space.canonical_request.rfind("GET\n/example%20space/\n\n", 0) == 0);
  CHECK(space.signature == "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");

  const std::string unreserved = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  auto u = sign_v4({"GET", unreserved, {}, suite_headers(), kEmpty}, kSuite, kSuiteKey, kSuiteSecret);
  CHECK(u.canonical_request.rfind("GET\n" + unreserved + "\n\n", 0) == 0);
  CHECK(u.signature == "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST_CASE("aws-sig-v4-test-suite get-vanilla-utf8-query", "[sigv4]") {
  auto s = sign_v4({"GET", "/", {{"\xE1\x88\xB4", "bar"}}, suite_headers(), kEmpty}, kSuite,
                   kSuiteKey, kSuiteSecret);
  CHECK(s.canonical_request.rfind("GET\n/\n%E1%88%B4=bar\n", 0) == 0);
  CHECK(s.signature == "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

TEST_CASE("aws-sig-v4-test-suite get-header-value-trim", "[sigv4]") {
  auto s = sign_v4({"GET", "/", {},
                    suite_headers({{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}), kEmpty},
                   kSuite, kSuiteKey, kSuiteSecret);
  CHECK(s.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
        "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" + kEmpty);
  CHECK(s.signature == "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST_CASE("aws-sig-v4-test-suite post-x-www-form-urlencoded (signed body)", "[sigv4]") {
  const std::string body_hash = sha256_hex("Param1=value1");
  CHECK(body_hash == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  auto s = sign_v4({"POST", "/", {},
                    suite_headers({{"Content-Type", "application/x-www-form-urlencoded"}}), body_hash},
                   kSuite, kSuiteKey, kSuiteSecret);
  CHECK(s.canonical_request ==
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" + body_hash);
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  CHECK(s.authorization ==
        suite_authorization("content-type;host;x-amz-date",
                            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST_CASE("aws-sig-v4-test-suite get-vanilla-with-session-token", "[sigv4]") {
  auto s = sign_v4({"GET", "/", {},
                    suite_headers({{"X-Amz-Security-Token",
                                    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"}}),
                    kEmpty},
                   kSuite, kSuiteKey, kSuiteSecret);
  CHECK(s.signed_headers == "host;x-amz-date;x-amz-security-token");
  CHECK(s.signature == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

TEST_CASE("2011 suite (botocore copy): paths encoded twice for non-S3 services", "[sigv4]") {
  const SigningScope scope{"20110909T233600Z", "us-east-1", "host"};
  const NameValues headers{{"Date", "Mon, 09 Sep 2011 23:36:00 GMT"}, {"Host", "host.foo.com"}};
  auto space = sign_v4({"GET", "/ /foo", {}, headers, kEmpty}, scope, kSuiteKey, kSuiteSecret,
                       PathEncoding::kDouble);
  CHECK(space.canonical_request ==
        "GET\n/%2520/foo\n\ndate:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\ndate;host\n" +
            kEmpty);
  CHECK(space.string_to_sign ==
        "AWS4-HMAC-SHA256\n20110909T233600Z\n20110909/us-east-1/host/aws4_request\n"
        "35975885599128f8963ce9be7219598b2b5a344321bae304529556c891e9e6ba");
  CHECK(space.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, "
        "SignedHeaders=date;host, "
        "Signature=2be9e587d1ee1f0fd02128724b86b4358ba3630d39f493b6e06610a19a50779e");
  auto utf8 = sign_v4({"GET", "/\xE1\x88\xB4", {}, headers, kEmpty}, scope, kSuiteKey, kSuiteSecret,
                      PathEncoding::kDouble);
  CHECK(utf8.canonical_request.rfind("GET\n/%25E1%2588%25B4\n", 0) == 0);
  CHECK(utf8.string_to_sign.substr(utf8.string_to_sign.rfind('\n') + 1) ==
        "47f4456c465167f4db3490a68903fe057412e6e030de38f71d9006467eb4922a");
  CHECK(utf8.signature == "57b1eb3df3b16a8479c0097b66c0b261cfd65b829419a3f2c3d05319722490b8");
}

namespace {
constexpr const char* kS3Key = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kS3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SigningScope kS3Scope{"20130524T000000Z", "us-east-1", "s3"};
}  // namespace

TEST_CASE("S3 API reference: GET object with a range", "[sigv4]") {
  auto s = sign_v4({"GET", "/test.txt", {},
                    {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                     {"x-amz-content-sha256", kEmpty}, {"x-amz-date", "20130524T000000Z"}},
                    kEmpty},
                   kS3Scope, kS3Key, kS3Secret);
  CHECK(s.canonical_request ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:" + kEmpty + "\nx-amz-date:20130524T000000Z\n\n"
        "host;range;x-amz-content-sha256;x-amz-date\n" + kEmpty);
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("S3 API reference: PUT object whose key needs encoding", "[sigv4]") {
  const std::string body_hash = sha256_hex("Welcome to Amazon S3.");
  CHECK(body_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  auto s = sign_v4({"PUT", "/test$file.text", {},
                    {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                     {"Host", "examplebucket.s3.amazonaws.com"},
                     {"x-amz-content-sha256", body_hash},
                     {"x-amz-date", "20130524T000000Z"},
                     {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                    body_hash},
                   kS3Scope, kS3Key, kS3Secret);
  CHECK(s.canonical_request.rfind("PUT\n/test%24file.text\n\n", 0) == 0);
  CHECK(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1) ==
        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  CHECK(s.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("S3 API reference: bucket lifecycle and ListObjects queries", "[sigv4]") {
  const NameValues headers{{"Host", "examplebucket.s3.amazonaws.com"},
                           {"x-amz-content-sha256", kEmpty},
                           {"x-amz-date", "20130524T000000Z"}};
  auto lifecycle = sign_v4({"GET", "/", {{"lifecycle", ""}}, headers, kEmpty}, kS3Scope, kS3Key, kS3Secret);
  CHECK(lifecycle.canonical_request.rfind("GET\n/\nlifecycle=\n", 0) == 0);
  CHECK(lifecycle.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  auto list = sign_v4({"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, headers, kEmpty}, kS3Scope,
                      kS3Key, kS3Secret);
  CHECK(list.canonical_request.rfind("GET\n/\nmax-keys=2&prefix=J\n", 0) == 0);
  CHECK(list.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("uri_encode follows SigV4's RFC 3986 rule", "[sigv4]") {
  CHECK(uri_encode("a b+c=d&e%f", false) == "a%20b%2Bc%3Dd%26e%25f");
  CHECK(uri_encode("dir/sub dir/x", true) == "dir/sub%20dir/x");
  CHECK(uri_encode("dir/x", false) == "dir%2Fx");
  CHECK(uri_encode("-._~AZaz09", false) == "-._~AZaz09");
  CHECK(uri_encode("\xC3\xA9t\xC3\xA9", true) == "%C3%A9t%C3%A9");
  CHECK(uri_encode("!'()*", true) == "%21%27%28%29%2A");
  CHECK(uri_decode("a%20b%2Bc+d%e") == "a b+c+d%e");
}

TEST_CASE("the client addresses the S3 reference's objects as S3 expects", "[sigv4]") {
  ClientConfig cfg;
  cfg.endpoint = Endpoint::parse("https://s3.amazonaws.com");
  cfg.addressing = Addressing::kAuto;
  Client client(cfg);
  std::string path, host;
  CHECK(client.url_for("examplebucket", "test$file.text", {}, &path, &host) ==
        "https://examplebucket.s3.amazonaws.com/test%24file.text");
  CHECK(path == "/test$file.text");
  CHECK(host == "examplebucket.s3.amazonaws.com");
  CHECK(client.url_for("examplebucket", "", {{"prefix", "J"}, {"max-keys", "2"}}) ==
        "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J");

  cfg.endpoint = Endpoint::parse("http://127.0.0.1:4568");
  Client local(cfg);
  CHECK(local.url_for("bucket", "a b/c+d=e&f%g/\xE1\x88\xB4.txt", {}, &path, &host) ==
        "http://127.0.0.1:4568/bucket/a%20b/c%2Bd%3De%26f%25g/%E1%88%B4.txt");
  CHECK(path == "/bucket/a b/c+d=e&f%g/\xE1\x88\xB4.txt");
  CHECK(host == "127.0.0.1:4568");
  CHECK(local.url_for("bucket", "", {{"list-type", "2"}, {"prefix", "a b/"}}) ==
        "http://127.0.0.1:4568/bucket?list-type=2&prefix=a%20b%2F");
}
