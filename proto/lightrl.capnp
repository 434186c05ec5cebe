# The wire format of lightrl: the only definition of anything that crosses a socket.
#
# Every ZeroMQ message is one Envelope. Evolution rules: add fields and union members with new
# ordinals only; never renumber, retype or reuse an ordinal. A peer that receives a union member it
# does not know answers with `unimplemented`. A peer whose protocolVersion differs is answered with
# an Error of class `failed`.
@0xac8a5662ed7004dd;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("lightrl::proto");

const protocolVersion :UInt32 = 1;

struct Envelope {
  protocolVersion @0 :UInt32;    # Must equal the receiver's protocolVersion.
  senderId @1 :Text;             # Stable id of the sending actor, e.g. "rollout-host-4711".
  messageId @2 :UInt64;          # Unique and increasing per sender; never 0.
  correlationId @3 :UInt64;      # messageId of the request this answers; 0 when not a reply.
  sentAtUnixNanos @4 :Int64;     # Sender's wall clock, for latency metrics only.

  body :union {
    register @5 :Register;
    registered @6 :Registered;
    heartbeat @7 :Heartbeat;
    workRequest @8 :WorkRequest;
    rolloutRequest @9 :RolloutRequest;
    rollout @10 :Rollout;
    rewardRequest @11 :RewardRequest;
    rewardResult @12 :RewardResult;
    trainBatch @13 :TrainBatch;
    weightsAnnounce @14 :WeightsAnnounce;
    weightsChunkRequest @15 :WeightsChunkRequest;
    weightsChunk @16 :WeightsChunk;
    ack @17 :Ack;
    error @18 :Error;
    shutdown @19 :Shutdown;
    unimplemented @20 :Unimplemented;
    echo @21 :Echo;
    weightsNcclPull @22 :WeightsNcclPull;
  }
}

enum Role {
  unknown @0;
  coordinator @1;
  learner @2;
  rollout @3;
  reward @4;
  echo @5;      # The smoke-test worker that answers Echo requests.
  client @6;    # Operator tools (status, scale).
}

# Worker -> coordinator: join the cluster. Answered by Registered or Error.
struct Register {
  role @0 :Role;
  hostname @1 :Text;
  pid @2 :UInt32;
  metricsPort @3 :UInt16;        # 0 when the worker serves no metrics endpoint.
  maxInFlight @4 :UInt32;        # Most work items the worker will hold at once.
  policyVersion @5 :UInt64;      # Weights version the worker holds now (0 = none).
}

# Coordinator -> worker: registration accepted, with the liveness contract.
struct Registered {
  heartbeatIntervalMillis @0 :UInt32;  # Send a Heartbeat at least this often.
  deadAfterMillis @1 :UInt32;          # Silence longer than this declares the sender dead.
  policyVersion @2 :UInt64;            # Latest version the learner has announced (0 = none yet).
  weightsEndpoint @3 :Text;            # Where to pull weights ("" when no learner is known).
}

# Either direction: "I am alive". Receipt of any message also counts as a sign of life.
struct Heartbeat {
  sequence @0 :UInt64;
  policyVersion @1 :UInt64;
  inFlight @2 :UInt32;           # Work items the sender holds now.
  queueDepth @3 :UInt32;         # Items waiting in the sender's local queue.
}

# Worker -> coordinator: grant `credits` more work items. Credits are additive; the coordinator
# never sends a worker more items than it has been granted.
struct WorkRequest {
  credits @0 :UInt32;
}

struct SamplingParams {
  temperature @0 :Float32 = 1.0;
  topP @1 :Float32 = 1.0;
  topK @2 :UInt32;                 # 0 = no top-k cut.
  maxTokens @3 :UInt32;
  seed @4 :UInt64;
  stopStrings @5 :List(Text);
  repetitionWindow @6 :UInt32 = 3000;     # K of MiniMax's repetition stop; 0 disables it.
  repetitionProbability @7 :Float32 = 0.99;  # p of MiniMax's repetition stop.
}

# Which task a prompt came from and what its completions are checked against.
struct TaskRef {
  taskName @0 :Text;
  itemIndex @1 :UInt64;
  reference @2 :Text;              # Task-specific JSON, understood by the reward worker.
}

# Coordinator -> rollout actor: generate `samplesPerPrompt` completions of one prompt.
struct RolloutRequest {
  groupId @0 :UInt64;
  promptTokens @1 :List(UInt32);
  samplesPerPrompt @2 :UInt32;
  sampling @3 :SamplingParams;
  task @4 :TaskRef;
  minPolicyVersion @5 :UInt64;     # Do not start before holding at least this version.
}

enum FinishReason {
  unknown @0;
  eos @1;
  maxTokens @2;
  stopString @3;
  repetition @4;
  aborted @5;
  contextLength @6;    # The model's maximum sequence length was reached.
}

# One generated completion. The three per-token lists have equal length.
struct Sample {
  tokenIds @0 :List(UInt32);
  behaviourLogProbs @1 :List(Float32);   # log-prob of each token under the sampling distribution.
  policyVersions @2 :List(UInt32);       # version of the weights that produced each token.
  finishReason @3 :FinishReason;
}

# Rollout actor -> coordinator: the completions of one group.
struct Rollout {
  groupId @0 :UInt64;
  samples @1 :List(Sample);
  generationMillis @2 :UInt32;
}

enum Verdict {
  unknown @0;
  correct @1;
  incorrect @2;
  formatError @3;
  compileError @4;
  runtimeError @5;
  timeout @6;
  memoryLimit @7;
  outputLimit @8;
  sandboxError @9;
  invalidReference @10;
}

struct RewardItem {
  sampleIndex @0 :UInt32;
  completion @1 :Text;             # Decoded completion text.
  tokenCount @2 :UInt32;           # For length-based shaping (overlong penalty).
}

# Coordinator -> reward worker: score completions of one group against its task reference.
struct RewardRequest {
  groupId @0 :UInt64;
  task @1 :TaskRef;
  items @2 :List(RewardItem);
}

struct Score {
  sampleIndex @0 :UInt32;
  score @1 :Float32;
  verdict @2 :Verdict;
  details @3 :Text;                # Human-readable reason, capped in size by the worker.
}

# Reward worker -> coordinator.
struct RewardResult {
  groupId @0 :UInt64;
  scores @1 :List(Score);
}

struct ScoredSample {
  sample @0 :Sample;
  reward @1 :Float32;
  verdict @2 :Verdict;
}

struct ScoredGroup {
  groupId @0 :UInt64;
  promptTokens @1 :List(UInt32);
  samples @2 :List(ScoredSample);
  task @3 :TaskRef;
}

# Coordinator -> learner: groups to train on. The learner Acks only after applying the batch.
struct TrainBatch {
  batchId @0 :UInt64;
  groups @1 :List(ScoredGroup);
  coordinatorState @2 :Text;       # Coordinator snapshot (JSON) to store with the checkpoint
                                   # that includes this batch; "" when there is none.
}

enum DType {
  f32 @0;
  bf16 @1;
  f16 @2;
  i32 @3;
  i64 @4;
  u8 @5;
}

struct TensorInfo {
  name @0 :Text;
  dtype @1 :DType;
  shape @2 :List(UInt64);
  offset @3 :UInt64;               # Byte offset inside the version's flat byte image.
  byteSize @4 :UInt64;
}

# Learner -> everyone: a new policy version can be pulled.
struct WeightsAnnounce {
  version @0 :UInt64;
  byteSize @1 :UInt64;             # Size of the flat byte image of all tensors.
  checksum @2 :UInt32;             # CRC32C of the flat byte image.
  tensors @3 :List(TensorInfo);
  endpoint @4 :Text;               # Where WeightsChunkRequest is answered.
  chunkBytes @5 :UInt32;           # Preferred chunk size.
}

# Rollout actor -> learner: send bytes [offset, offset + length) of `version`.
struct WeightsChunkRequest {
  version @0 :UInt64;
  offset @1 :UInt64;
  length @2 :UInt32;
}

# Rollout actor -> learner, both on GPUs of one host: send `version` over NCCL instead of in
# chunks. The rollout made `ncclId` (a ncclUniqueId's bytes) and joins it as rank 1; the
# learner joins as rank 0 and sends the version's FP32 weights (the announce's flat image,
# byteSize bytes) from its GPU. The reply (Ack, or Error: version no longer held, no GPU,
# NCCL failure) comes after the transfer.
struct WeightsNcclPull {
  version @0 :UInt64;
  ncclId @1 :Data;
  reuse @2 :Bool;    # false: the learner joins communicator ncclId first; true: it kept it.
}

struct WeightsChunk {
  version @0 :UInt64;
  offset @1 :UInt64;
  data @2 :Data;
  checksum @3 :UInt32;             # CRC32C of `data`.
}

# Positive acknowledgement of the message named by the envelope's correlationId.
struct Ack {
  detail @0 :Text;
  durableVersion @1 :UInt64;       # Learner only: newest version saved in a complete checkpoint.
}

enum RetryClass {
  failed @0;          # Report; retrying the same request will not help.
  overloaded @1;      # Back off, then retry.
  disconnected @2;    # Reconnect, then retry.
  unimplemented @3;   # Fall back to something the peer supports.
}

# Negative answer to the message named by correlationId (0 when it could not be decoded).
struct Error {
  retryClass @0 :RetryClass;
  message @1 :Text;
}

# Ask the receiver to stop. With `drain`, it finishes in-flight work first.
struct Shutdown {
  reason @0 :Text;
  drain @1 :Bool;
}

# Answer to a message whose body kind the receiver does not know.
struct Unimplemented {
  unknownKind @0 :UInt16;          # The union discriminant that was not understood.
}

# Smoke-test request/reply; the echo worker returns the payload unchanged.
struct Echo {
  payload @0 :Data;
}
