// The offline store commands of rollcalld, run instead of the server:
//   rollcalld verify --data_dir D          checks D (see store::VerifyRocksStore); exit 0 when
//   sound rollcalld restore --from B --data_dir D  copies backup B into the new data directory D,
//   then
//                                          verifies it
// Exit status: 0 done, 1 damage or failure, 2 bad usage.
#ifndef ROLLCALL_SERVICE_STORE_COMMANDS_H_
#define ROLLCALL_SERVICE_STORE_COMMANDS_H_

#include <string>

namespace rollcall::service {

int RunVerify(const std::string& data_dir);
int RunRestore(const std::string& from, const std::string& data_dir);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_STORE_COMMANDS_H_
