#include "service/watch_hub.h"

#include "service/byte_buffers.h"
#include "service/grpc_status.h"
#include "service/unparsable_request.h"
#include "state/lookup.h"
#include "state/status_macros.h"

namespace rollcall::service {
namespace {

// A frame as gRPC sends it: the same slices for every stream.
struct GrpcFrame final : Frame {
  explicit GrpcFrame(std::string serialized) : bytes(ToByteBuffer(std::move(serialized))) {}
  grpc::ByteBuffer bytes;
};

// One Watch stream: writes what the core hands it and tells the core how it went. Deletes
// itself when gRPC is done with it, after the core has forgotten it.
class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>, public WatchStream {
 public:
  WatchReactor(WatchCore& core, grpc::CallbackServerContext* context)
      : core_(core), context_(context) {}

  void Write(const FramePtr& frame) override {
    current_ = static_cast<const GrpcFrame&>(*frame).bytes;
    StartWrite(&current_);
  }
  void Finish(const absl::Status& status, const Trailers& trailers) override {
    for (const auto& [key, value] : trailers) context_->AddTrailingMetadata(key, value);
    grpc::ServerWriteReactor<grpc::ByteBuffer>::Finish(ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override { core_.Written(this, ok); }
  void OnCancel() override { core_.Cancel(this); }
  void OnDone() override {
    core_.Close(this);
    delete this;
  }

 private:
  WatchCore& core_;
  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer current_;  // the write in flight (the core keeps at most one)
};

// A stream refused before the core saw it: finishes at once and deletes itself when done.
class FailedWatch final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit FailedWatch(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

WatchHub::WatchHub(const WatchOptions& options, store::Store& store, Applier& applier,
                   const Converter& converter, const Clock& clock)
    : applier_(applier),
      converter_(converter),
      core_(options, store, clock, converter, [](std::string serialized) {
        return std::make_shared<GrpcFrame>(std::move(serialized));
      }) {
  core_.Start();
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchHub::Open(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           const Authorizer& auth) {
  const absl::StatusOr<Caller> caller = auth.Authorize(*context, Permission::kRead);
  if (!caller.ok()) return new FailedWatch(caller.status());
  v1::WatchRequest request;
  if (!ParseFrom(*request_bytes, &request)) {
    // Names a field with malformed UTF-8 (room, account_sid), as the other RPCs do.
    return new FailedWatch(
        UnparsableRequestError(Flatten(*request_bytes), *v1::WatchRequest::descriptor()));
  }
  absl::StatusOr<state::Sid> account = caller->Account(request.account_sid());
  if (!account.ok()) return new FailedWatch(account.status());
  WatchSpec spec;
  spec.account = *account;
  spec.start_revision = request.start_revision();
  spec.initial_state = request.send_initial_state();
  spec.still_allowed = auth.Recheck(*context, Permission::kRead, *account);
  if (!request.room().empty()) {
    // A room SID must name a room of the account (of any status); a unique name, one in
    // progress. Resolved once, here.
    absl::StatusOr<state::Sid> room =
        applier_.Read([&](const state::Roster& roster) -> absl::StatusOr<state::Sid> {
          ASSIGN_OR_RETURN(const state::Room* found,
                           state::FindRoomByReference(roster, *account, request.room(), "room"));
          return found->sid;
        });
    if (!room.ok()) return new FailedWatch(room.status());
    spec.room = *room;
  }
  if (spec.initial_state && spec.start_revision != 0) {
    return new FailedWatch(absl::InvalidArgumentError(
        "start_revision: must be 0 with send_initial_state (the snapshot sets the start)"));
  }
  auto* reactor = new WatchReactor(core_, context);
  core_.Open(spec, reactor);
  return reactor;
}

}  // namespace rollcall::service
