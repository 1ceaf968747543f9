#pragma once
// StepParticipant: what smp::step tells the objects that take part in a step (DistributedModel):
// a step begins (per-microbatch state sized, buffers broadcast), the scheduler passes by (pending
// sends progress), the step ends (sends drained, DDP allreduce) or fails (state dropped).

namespace smp::pipeline {

struct StepContext {
  long long step = 0;     // index of this smp::step call on this rank, from 0
  int microbatches = 1;
};

class StepParticipant {
 public:
  virtual ~StepParticipant() = default;
  virtual void begin_step(const StepContext& ctx) = 0;
  virtual void progress() = 0;  // on the scheduler's thread, holding the baton
  virtual void end_step(const StepContext& ctx) = 0;
  virtual void abort_step() = 0;
};

// DistributedModel registers itself for its lifetime.
void register_participant(StepParticipant* participant);
void unregister_participant(StepParticipant* participant);

}  // namespace smp::pipeline
