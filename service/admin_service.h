// AdminService (rollcall/v1/admin_service.proto): backups on demand, and the failed status
// callbacks. A synchronous service:
// a backup is file I/O that may take a while, and the sync API gives it its own thread rather
// than holding a callback thread.
#ifndef ROLLCALL_SERVICE_ADMIN_SERVICE_H_
#define ROLLCALL_SERVICE_ADMIN_SERVICE_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "rollcall/v1/admin_service.grpc.pb.h"
#include "service/auth.h"
#include "service/clock.h"
#include "store/store.h"

namespace rollcall::service {

class AdminService final : public v1::AdminService::Service {
 public:
  // `backup_dir` empty: backups are off. Every RPC needs the admin role. `clock` names the
  // backups that get no name.
  AdminService(store::Store& store, std::string backup_dir, const Authorizer& auth,
               const Clock& clock)
      : store_(store), backup_dir_(std::move(backup_dir)), auth_(auth), clock_(clock) {}

  grpc::Status CreateBackup(grpc::ServerContext* context, const v1::CreateBackupRequest* request,
                            v1::CreateBackupResponse* response) override;
  grpc::Status ListFailedCallbacks(grpc::ServerContext* context,
                                   const v1::ListFailedCallbacksRequest* request,
                                   v1::ListFailedCallbacksResponse* response) override;

 private:
  store::Store& store_;
  const std::string backup_dir_;
  const Authorizer& auth_;
  const Clock& clock_;
  absl::Mutex backup_mu_;  // one backup at a time
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_ADMIN_SERVICE_H_
