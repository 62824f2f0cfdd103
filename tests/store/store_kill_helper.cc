// store_kill_helper PATH: writes synced batches (revision r: participant r and log entry r) into
// the RocksDB store at PATH for as long as it lives, printing each revision to stdout once Write
// has acknowledged it. rocks_store_test.cc kills it with SIGKILL at an arbitrary moment and checks
// that every acknowledged revision survived.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "store/store.h"
#include "tests/store/records_for_tests.h"

int main(int argc, char** argv) {
  using rollcall::store::Store;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Store>> store =
      rollcall::store::OpenRocksStore(rollcall::store::RocksOptions{.path = argv[1]});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  for (uint64_t r = (*store)->revision() + 1;; ++r) {
    rollcall::store::WriteBatch batch;
    batch.revision = r;
    batch.participants = {rollcall::store::test_records::ConnectedParticipant(r, 1, r)};
    batch.log = {rollcall::store::LogEntry{.revision = r, .payload = absl::StrCat("rev ", r)}};
    if (absl::Status status = (*store)->Write(batch); !status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return 1;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(r));
    std::fflush(stdout);
  }
}
