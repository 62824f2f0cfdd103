// Fuzz target: the store codec (store/codec.h). The first byte picks the record kind
// (participant, room, dedupe entry, status callback, failed callback, change-log payload); the
// rest is a stored value. Checked on every input:
// - decoding arbitrary bytes never crashes, and refuses with DATA_LOSS only;
// - whatever decodes re-encodes to bytes that decode to the same record, and encoding that
//   record again gives the same bytes (encode∘decode is a fixed point after one step).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "state/records.h"
#include "store/codec.h"

namespace {

void Fail(const std::string& what) {
  std::cerr << "codec_fuzz: " << what << "\n";
  std::abort();
}

template <typename Record>
void RoundTrip(absl::string_view bytes, const char* kind) {
  Record first;
  const absl::Status decoded = rollcall::store::Decode(bytes, &first);
  if (!decoded.ok()) {
    if (decoded.code() != absl::StatusCode::kDataLoss) {
      Fail(std::string(kind) + " refused with " + decoded.ToString());
    }
    return;
  }
  std::string encoded;
  rollcall::store::Encode(first, &encoded);
  Record second;
  const absl::Status again = rollcall::store::Decode(encoded, &second);
  if (!again.ok()) Fail(std::string(kind) + " re-encoded does not decode: " + again.ToString());
  if (!(second == first)) Fail(std::string(kind) + " changed in a round trip");
  std::string reencoded;
  rollcall::store::Encode(second, &reencoded);
  if (reencoded != encoded) Fail(std::string(kind) + " encodes two ways");
}

// A change-log payload: the same fixed point, for the scope header and every change. The header
// alone (DecodeLogScope) never disagrees with the whole decode.
void LogPayloadRoundTrip(absl::string_view bytes) {
  rollcall::store::LogScope scope;
  std::vector<rollcall::state::Change> first;
  const absl::Status decoded = rollcall::store::DecodeLogPayload(bytes, &scope, &first);
  if (!decoded.ok()) {
    if (decoded.code() != absl::StatusCode::kDataLoss) {
      Fail("log payload refused with " + decoded.ToString());
    }
    return;
  }
  const absl::StatusOr<rollcall::store::LogScope> header = rollcall::store::DecodeLogScope(bytes);
  if (!header.ok() || header->account_sid != scope.account_sid ||
      header->room_sid != scope.room_sid) {
    Fail("log payload's header decodes differently alone");
  }
  std::string encoded;
  rollcall::store::EncodeLogPayload(first, &encoded);
  rollcall::store::LogScope again_scope;
  std::vector<rollcall::state::Change> second;
  const absl::Status again = rollcall::store::DecodeLogPayload(encoded, &again_scope, &second);
  if (!again.ok()) Fail("log payload re-encoded does not decode: " + again.ToString());
  if (second != first || again_scope.account_sid != scope.account_sid ||
      again_scope.room_sid != scope.room_sid) {
    Fail("log payload changed in a round trip");
  }
  std::string reencoded;
  rollcall::store::EncodeLogPayload(second, &reencoded);
  if (reencoded != encoded) Fail("log payload encodes two ways");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      RoundTrip<rollcall::state::Participant>(bytes, "participant");
      break;
    case 1:
      RoundTrip<rollcall::state::Room>(bytes, "room");
      break;
    case 2:
      RoundTrip<rollcall::state::DedupeEntry>(bytes, "dedupe entry");
      break;
    case 3:
      RoundTrip<rollcall::state::Callback>(bytes, "callback");
      break;
    case 4:
      RoundTrip<rollcall::state::FailedCallback>(bytes, "failed callback");
      break;
    default:
      LogPayloadRoundTrip(bytes);
      break;
  }
  return 0;
}
