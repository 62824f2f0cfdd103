#include "bench/read_driver.h"

#include <grpc/support/time.h>
#include <grpcpp/alarm.h>

#include <random>

namespace rollcall::bench {

// One read; starts the next one on the same lane when answered, or waits 1 ms for the ingest
// side's first acknowledged participant. Deletes itself.
class ReadDriver::Call final : public Tag {
 public:
  Call(ReadDriver& driver, Lane& lane, uint64_t seed)
      : driver_(driver), lane_(lane), random_(seed) {}

  void Start() {
    const std::optional<KnownParticipants::Entry> known = driver_.known_.Pick(random_());
    if (!known) {
      waiting_ = true;
      alarm_.Set(lane_.cq,
                 gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(1, GPR_TIMESPAN)),
                 this);
      return;
    }
    const uint64_t roll = random_() % 100;
    kind_ = roll < 40   ? kGetParticipant
            : roll < 70 ? kListParticipants
            : roll < 85 ? kGetRoom
                        : kListRooms;
    const std::string& account = driver_.options_.account;
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    sent_ = NowNanos();
    switch (kind_) {
      case kGetParticipant:
        get_participant_.set_account_sid(account);
        get_participant_.set_room(known->room_sid);
        get_participant_.set_participant_sid(known->participant_sid);
        Finish(lane_.participants->AsyncGetParticipant(&context_, get_participant_, lane_.cq),
               &participant_);
        break;
      case kListParticipants:
        list_participants_.set_account_sid(account);
        list_participants_.set_room(known->room_sid);
        list_participants_.set_page_size(driver_.options_.page_size);
        Finish(lane_.participants->AsyncListParticipants(&context_, list_participants_, lane_.cq),
               &participants_);
        break;
      case kGetRoom:
        get_room_.set_account_sid(account);
        get_room_.set_room(known->room_sid);
        Finish(lane_.rooms->AsyncGetRoom(&context_, get_room_, lane_.cq), &room_);
        break;
      default:
        list_rooms_.set_account_sid(account);
        list_rooms_.set_page_size(driver_.options_.page_size);
        Finish(lane_.rooms->AsyncListRooms(&context_, list_rooms_, lane_.cq), &rooms_);
        break;
    }
  }

  void Proceed(bool /*ok*/) override {
    ReadDriver& driver = driver_;
    Lane& lane = lane_;
    const uint64_t seed = random_();
    if (!waiting_) {
      const int64_t done = NowNanos();
      PerKind& kind = driver.kinds_[kind_];
      if (!status_.ok()) kind.errors.fetch_add(1);
      if (driver.window_.Contains(done)) {
        kind.in_window.fetch_add(1);
        kind.latency.Record(done - sent_);
      }
    }
    delete this;
    driver.Next(lane, seed);
  }

 private:
  template <typename Response>
  void Finish(std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader,
              Response* response) {
    reader->Finish(response, &status_, this);
  }

  ReadDriver& driver_;
  Lane& lane_;
  std::mt19937_64 random_;
  bool waiting_ = false;
  Kind kind_ = kGetParticipant;
  int64_t sent_ = 0;
  grpc::Alarm alarm_;
  grpc::ClientContext context_;
  grpc::Status status_;
  v1::GetParticipantRequest get_participant_;
  v1::GetParticipantResponse participant_;
  v1::ListParticipantsRequest list_participants_;
  v1::ListParticipantsResponse participants_;
  v1::GetRoomRequest get_room_;
  v1::GetRoomResponse room_;
  v1::ListRoomsRequest list_rooms_;
  v1::ListRoomsResponse rooms_;
};

ReadDriver::ReadDriver(const ReadOptions& options,
                       const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                       Pollers& pollers, const KnownParticipants& known, Window window)
    : options_(options), known_(known), window_(window) {
  lanes_.resize(channels.size());
  for (size_t i = 0; i < channels.size(); ++i) {
    lanes_[i].participants = v1::ParticipantService::NewStub(channels[i]);
    lanes_[i].rooms = v1::RoomService::NewStub(channels[i]);
    lanes_[i].cq = pollers.queue(i);
  }
}

ReadDriver::~ReadDriver() = default;

void ReadDriver::Start() {
  for (int i = 0; i < options_.in_flight; ++i) {
    in_flight_.Enter();
    Next(lanes_[i % lanes_.size()], static_cast<uint64_t>(i) * 7919 + 1);
  }
}

void ReadDriver::Next(Lane& lane, uint64_t seed) {
  if (stopping_.load()) return in_flight_.Leave();
  (new Call(*this, lane, seed))->Start();
}

int64_t ReadDriver::errors() const {
  int64_t total = 0;
  for (const PerKind& kind : kinds_) total += kind.errors.load();
  return total;
}

int64_t ReadDriver::reads_in_window() const {
  int64_t total = 0;
  for (const PerKind& kind : kinds_) total += kind.in_window.load();
  return total;
}

LatencySummary ReadDriver::latency() const {
  std::vector<int64_t> all;
  for (const PerKind& kind : kinds_) {
    std::vector<int64_t> samples = kind.latency.Samples();
    all.insert(all.end(), samples.begin(), samples.end());
  }
  return Summarize(std::move(all));
}

JsonObject ReadDriver::Report(double seconds) const {
  static constexpr const char* kNames[] = {"get_participant", "list_participants", "get_room",
                                           "list_rooms"};
  JsonObject report;
  for (int k = 0; k < kKinds; ++k) {
    report.Set(kNames[k], JsonObject()
                              .Set("reads", kinds_[k].in_window.load())
                              .Set("errors", kinds_[k].errors.load())
                              .Set("latency_ms", LatencyJson(kinds_[k].latency.Summary())));
  }
  const double reads = static_cast<double>(reads_in_window());
  report.Set("reads_per_s", seconds > 0 ? reads / seconds : 0.0)
      .Set("errors", errors())
      .Set("latency_ms", LatencyJson(latency()));
  return report;
}

}  // namespace rollcall::bench
