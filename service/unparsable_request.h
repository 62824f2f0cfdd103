// Requests protobuf refuses to parse, named by field.
//
// proto3 refuses to parse a `string` field holding malformed UTF-8, and for a typed callback
// method gRPC then ends the call UNIMPLEMENTED with an empty message before the service sees
// it. UnparsableRequestError says which field broke the parse; FieldNamingUnaryHandler sits in
// front of a typed unary method so that such a call ends INVALID_ARGUMENT naming the field
// ("identity: must be valid UTF-8"), as ingest's events do. Requests that parse pay one
// reference-counted copy of the request buffer, nothing else.
//
//   ParticipantService::ParticipantService(...) {
//     MarkMethodCallback(MethodIndex(v1::ParticipantService::service_full_name(),
//     "GetParticipant"),
//                        NamingBadFields(this, &ParticipantService::GetParticipant));
//   }
#ifndef ROLLCALL_SERVICE_UNPARSABLE_REQUEST_H_
#define ROLLCALL_SERVICE_UNPARSABLE_REQUEST_H_

#include <grpc/byte_buffer.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/support/message_allocator.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "service/grpc_status.h"

namespace rollcall::service {

// Why `bytes` do not parse as a `type` message: INVALID_ARGUMENT naming the first string field
// (at any depth, as "parent.child") that holds malformed UTF-8, else INVALID_ARGUMENT
// "request: is not a <type> message".
absl::Status UnparsableRequestError(absl::string_view bytes,
                                    const google::protobuf::Descriptor& type);

// The bytes of `buffer` (nullptr: none), which is destroyed.
std::string TakeBytes(grpc_byte_buffer* buffer);

// A typed unary callback method whose unparsable requests end with UnparsableRequestError.
template <typename Request, typename Response>
class FieldNamingUnaryHandler final : public grpc::internal::MethodHandler {
 public:
  using Method = std::function<grpc::ServerUnaryReactor*(grpc::CallbackServerContext*,
                                                         const Request*, Response*)>;

  explicit FieldNamingUnaryHandler(Method method)
      : typed_([method = std::move(method)](grpc::CallbackServerContext* context,
                                            const Request* request, Response* response) {
          const auto* messages = static_cast<Messages*>(context->GetRpcAllocatorState());
          if (!messages->refusal.ok()) {
            grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
            reactor->Finish(messages->refusal);
            return reactor;
          }
          return method(context, request, response);
        }) {
    typed_.SetMessageAllocator(&allocator_);
  }

  void RunHandler(const HandlerParameter& param) override { typed_.RunHandler(param); }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request_bytes, grpc::Status* status,
                    void** handler_data) override {
    // The typed parse consumes the buffer; this copy shares its slices.
    grpc_byte_buffer* kept =
        request_bytes == nullptr ? nullptr : grpc_byte_buffer_copy(request_bytes);
    void* request = typed_.Deserialize(call, request_bytes, status, handler_data);
    if (status->ok() || kept == nullptr) {
      if (kept != nullptr) grpc_byte_buffer_destroy(kept);
      return request;
    }
    // Parse failed: answer from the method's wrapper with the field named, on an empty request.
    auto* messages = static_cast<Messages*>(*handler_data);
    messages->refusal =
        ToGrpcStatus(UnparsableRequestError(TakeBytes(kept), *Request::descriptor()));
    messages->request()->Clear();
    *status = grpc::Status::OK;
    return messages->request();
  }

 private:
  // The call's request and response, and why its request was refused.
  class Messages final : public grpc::MessageHolder<Request, Response> {
   public:
    Messages() {
      this->set_request(&request_);
      this->set_response(&response_);
    }
    void Release() override { delete this; }
    grpc::Status refusal;

   private:
    Request request_;
    Response response_;
  };
  class Allocator final : public grpc::MessageAllocator<Request, Response> {
   public:
    grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Messages; }
  };

  Allocator allocator_;
  grpc::internal::CallbackUnaryHandler<Request, Response> typed_;
};

// The index gRPC gives `method` of the service named `service_full_name` (declaration order).
int MethodIndex(absl::string_view service_full_name, absl::string_view method);

// A FieldNamingUnaryHandler for `method` of `service`, for the service's constructor to pass
// to MarkMethodCallback with the method's MethodIndex.
template <typename Service, typename Request, typename Response>
grpc::internal::MethodHandler* NamingBadFields(
    Service* service, grpc::ServerUnaryReactor* (Service::*method)(grpc::CallbackServerContext*,
                                                                   const Request*, Response*)) {
  return new FieldNamingUnaryHandler<Request, Response>(
      [service, method](grpc::CallbackServerContext* context, const Request* request,
                        Response* response) {
        return (service->*method)(context, request, response);
      });
}

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_UNPARSABLE_REQUEST_H_
