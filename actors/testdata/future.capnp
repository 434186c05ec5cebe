# A "newer peer" view of the lightrl Envelope: identical up to ordinal 22, plus one body kind
# this build does not know. Used only by tests of the unimplemented echo.
@0xc1df940e2c336399;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("lightrl::future");
using L = import "/proto/lightrl.capnp";

struct Envelope {
  protocolVersion @0 :UInt32;
  senderId @1 :Text;
  messageId @2 :UInt64;
  correlationId @3 :UInt64;
  sentAtUnixNanos @4 :Int64;

  body :union {
    register @5 :L.Register;
    registered @6 :L.Registered;
    heartbeat @7 :L.Heartbeat;
    workRequest @8 :L.WorkRequest;
    rolloutRequest @9 :L.RolloutRequest;
    rollout @10 :L.Rollout;
    rewardRequest @11 :L.RewardRequest;
    rewardResult @12 :L.RewardResult;
    trainBatch @13 :L.TrainBatch;
    weightsAnnounce @14 :L.WeightsAnnounce;
    weightsChunkRequest @15 :L.WeightsChunkRequest;
    weightsChunk @16 :L.WeightsChunk;
    ack @17 :L.Ack;
    error @18 :L.Error;
    shutdown @19 :L.Shutdown;
    unimplemented @20 :L.Unimplemented;
    echo @21 :L.Echo;
    weightsNcclPull @22 :L.WeightsNcclPull;
    fromTheFuture @23 :Text;
  }
}
