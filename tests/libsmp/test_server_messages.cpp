// The execution server's envelopes: every field survives encode → decode (chain routing's
// reply_to / origin_call / record included), tensors come back allocated with their metadata and
// requires_grad bits, and a truncated or foreign envelope is refused with a clear error.
#include "catch_torch.h"

#include "libsmp/pipeline/server_messages.h"
#include "libsmp/runtime/error.h"

using Catch::Matchers::ContainsSubstring;
using smp::pipeline::Message;
using smp::pipeline::MessageKind;

TEST_CASE("an envelope round-trips every field", "[server-messages]") {
  Message m;
  m.kind = MessageKind::kForwardRequest;
  m.microbatch = 7;
  m.step = 123456789012LL;
  m.call = (int64_t{3} << 40) | 42;
  m.module = 17;
  m.grad_enabled = true;
  m.reply_to = 0;
  m.origin_call = (int64_t{0} << 40) | 9;
  m.record = (int64_t{2} << 40) | 5;
  m.packed.skeleton = std::string("skel\0eton", 9);
  m.packed.tensors = {torch::ones({2, 3}, torch::kFloat64), at::Tensor(),
                      torch::zeros({0}, torch::kInt64)};
  m.requires_grad = {true, false, false};

  Message d;
  smp::pipeline::decode_envelope(smp::pipeline::encode_envelope(m), d);
  CHECK(d.kind == m.kind);
  CHECK(d.microbatch == 7);
  CHECK(d.step == m.step);
  CHECK(d.call == m.call);
  CHECK(d.module == 17);
  CHECK(d.grad_enabled);
  CHECK(d.reply_to == 0);
  CHECK(d.origin_call == m.origin_call);
  CHECK(d.record == m.record);
  CHECK(d.packed.skeleton == m.packed.skeleton);
  REQUIRE(d.packed.tensors.size() == 3);
  CHECK(d.packed.tensors[0].sizes() == at::IntArrayRef({2, 3}));
  CHECK(d.packed.tensors[0].scalar_type() == torch::kFloat64);
  CHECK_FALSE(d.packed.tensors[1].defined());
  CHECK(d.packed.tensors[2].numel() == 0);
  CHECK(d.requires_grad == std::vector<bool>{true, false, false});
}

TEST_CASE("a plain request has no chain fields", "[server-messages]") {
  Message m;
  m.kind = MessageKind::kBackwardReply;
  Message d;
  smp::pipeline::decode_envelope(smp::pipeline::encode_envelope(m), d);
  CHECK(d.reply_to == -1);
  CHECK(d.origin_call == 0);
  CHECK(d.record == 0);
}

TEST_CASE("truncated and foreign envelopes are refused", "[server-messages]") {
  Message m;
  m.kind = MessageKind::kForwardReply;
  m.packed.tensors = {torch::ones({4})};
  m.requires_grad = {false};
  const std::string bytes = smp::pipeline::encode_envelope(m);
  Message d;
  for (size_t cut : {size_t{0}, size_t{3}, bytes.size() / 2, bytes.size() - 1})
    CHECK_THROWS_WITH(smp::pipeline::decode_envelope(bytes.substr(0, cut), d),
                      ContainsSubstring("libsmp execution server"));
  std::string foreign = bytes;
  foreign[0] ^= 0x5a;
  CHECK_THROWS_WITH(smp::pipeline::decode_envelope(foreign, d),
                    ContainsSubstring("different libsmp versions"));
}
