// Fuzz target: ingest's request parsing, from the bytes gRPC hands the raw handlers to a
// validated state::Event — the mirror parse (service/ingest_wire.proto), Converter::FromProto
// and state::ValidateEvent. Checked on every input:
// - nothing crashes, and every refusal is INVALID_ARGUMENT naming an `event.` field;
// - an accepted event holds only clean UTF-8 in its text fields;
// - bytes the strict public message accepts parse into the mirror with the same values (the
//   mirror is more lenient, never different).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "rollcall/v1/ingest_service.pb.h"
#include "service/auth.h"
#include "service/convert.h"
#include "service/ingest_wire.pb.h"
#include "state/limits.h"
#include "state/validation.h"

namespace {

using rollcall::service::Converter;

void Fail(const std::string& what) {
  std::cerr << "ingest_wire_fuzz: " << what << "\n";
  std::abort();
}

rollcall::state::Sid DefaultAccount() {
  auto account = rollcall::state::Sid::Parse("AC00000000000000000000000000000000",
                                             rollcall::state::kAccountPrefix, "account");
  if (!account.ok()) Fail("default account does not parse");
  return *account;
}

const Converter& TheConverter() {
  static const Converter* converter = new Converter("http://localhost:8080", DefaultAccount());
  return *converter;
}

// Authentication off: the caller acts for the default account or the one an event names.
const rollcall::service::Caller& TheCaller() {
  static const auto* caller =
      new rollcall::service::Caller(rollcall::service::Caller::Anonymous(DefaultAccount()));
  return *caller;
}

void CheckEvent(const rollcall::service::wire::Event& in) {
  // A fixed server clock, so a run is reproducible.
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<rollcall::state::Event> event = TheConverter().FromProto(in, TheCaller(), "event");
  absl::Status status = event.status();
  if (event.ok()) status = rollcall::state::ValidateEvent(*event, rollcall::state::Limits{}, now);
  if (!status.ok()) {
    if (status.code() != absl::StatusCode::kInvalidArgument) {
      Fail("refused with " + status.ToString());
    }
    if (!absl::StartsWith(status.message(), "event.")) Fail("no field named: " + status.ToString());
    return;
  }
  for (const std::string* text :
       {&event->event_id, &event->room, &event->identity, &event->participant_sid}) {
    if (!rollcall::state::IsCleanUtf8(*text)) Fail("accepted an event with unclean text");
  }
}

}  // namespace

// protobuf logs every strict parse refused for bad UTF-8; a fuzzer would spend its time there.
void Quiet(google::protobuf::LogLevel /*level*/, const char* /*file*/, int /*line*/,
           const std::string& /*message*/) {}

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(&Quiet);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  rollcall::service::wire::StreamEventsRequest mirror;
  const bool mirror_parsed = mirror.ParseFromString(bytes);
  if (mirror_parsed) {
    for (const rollcall::service::wire::Event& event : mirror.events()) CheckEvent(event);
  }
  rollcall::v1::StreamEventsRequest strict;
  if (strict.ParseFromString(bytes)) {
    if (!mirror_parsed) Fail("the public message parses but the mirror does not");
    if (strict.events_size() != mirror.events_size()) Fail("event counts differ");
    for (int i = 0; i < strict.events_size(); ++i) {
      const rollcall::v1::Event& a = strict.events(i);
      const rollcall::service::wire::Event& b = mirror.events(i);
      if (a.event_id() != b.event_id() || a.room() != b.room() || a.identity() != b.identity() ||
          a.participant_sid() != b.participant_sid() || a.account_sid() != b.account_sid() ||
          static_cast<int>(a.type()) != b.type() || static_cast<int>(a.reason()) != b.reason() ||
          a.has_occurred_at() != b.has_occurred_at() ||
          a.occurred_at().seconds() != b.occurred_at().seconds() ||
          a.occurred_at().nanos() != b.occurred_at().nanos()) {
        Fail("the mirror parsed other values than the public message");
      }
    }
  }
  // RecordEventRequest wraps one event as field 1, the same shape StreamEventsRequest repeats.
  rollcall::service::wire::RecordEventRequest single;
  if (single.ParseFromString(bytes) && single.has_event()) CheckEvent(single.event());
  return 0;
}
