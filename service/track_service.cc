#include "service/track_service.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "service/unary_call.h"
#include "state/lookup.h"
#include "state/status_macros.h"
#include "state/subscriptions.h"

namespace rollcall::service {
namespace {

// A page of a participant's (small) list, in (date_created, sid) order; tokens are bound to
// the participant.
template <typename Record, typename Out>
absl::Status Paginate(std::vector<const Record*> records, const std::string& participant_sid,
                      int32_t requested_size, const std::string& token, Out add,
                      std::string* next_token) {
  ASSIGN_OR_RETURN(const int32_t page_size, PageSize(requested_size));
  const uint64_t filter = state::StableHash(participant_sid);
  std::optional<state::PageKey> after;
  if (!token.empty()) {
    ASSIGN_OR_RETURN(after, DecodePageToken(token, filter));
  }
  std::sort(records.begin(), records.end(), [](const Record* a, const Record* b) {
    return std::tie(a->date_created, a->sid) < std::tie(b->date_created, b->sid);
  });
  int32_t taken = 0;
  for (const Record* record : records) {
    const state::PageKey key{record->date_created, record->sid};
    if (after && !(*after < key)) continue;
    if (taken == page_size) {
      *next_token = EncodePageToken(*after, filter);
      break;
    }
    add(*record);
    after = key;
    ++taken;
  }
  return absl::OkStatus();
}

using ParticipantRead =
    std::function<absl::Status(const state::Roster& roster, const state::Participant& participant)>;

// Answers a read about the one participant a request names (`room` + `participant_sid`): the
// request's account is authorized for reading, `check` validates the rest of the request, the
// participant is found in that account, and `read` runs on it under the roster's read lock.
template <typename Request>
grpc::ServerUnaryReactor* ReadParticipant(
    grpc::CallbackServerContext* context, const Authorizer& auth, Applier& applier,
    const Request& request, const ParticipantRead& read,
    const std::function<absl::Status()>& check = [] { return absl::OkStatus(); }) {
  return Answer(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(state::Sid account,
                     auth.Account(*context, Permission::kRead, request.account_sid()));
    RETURN_IF_ERROR(check());
    return applier.Read([&](const state::Roster& roster) -> absl::Status {
      ASSIGN_OR_RETURN(
          const state::Participant* participant,
          state::FindNamedParticipant(roster, account, request.room(), request.participant_sid(),
                                      "room", "participant_sid"));
      return read(roster, *participant);
    });
  });
}

}  // namespace

grpc::ServerUnaryReactor* TrackService::ListPublishedTracks(
    grpc::CallbackServerContext* context, const v1::ListPublishedTracksRequest* request,
    v1::ListPublishedTracksResponse* response) {
  return ReadParticipant(
      context, auth_, applier_, *request,
      [&](const state::Roster& roster, const state::Participant& participant) {
        std::vector<const state::PublishedTrack*> published;
        for (const state::PublishedTrack* track : roster.TracksOf(participant.sid)) {
          if (track->published()) published.push_back(track);
        }
        return Paginate(
            std::move(published), participant.sid.ToString(), request->page_size(),
            request->page_token(),
            [&](const state::PublishedTrack& t) {
              converter_.ToProto(t, response->add_published_tracks());
            },
            response->mutable_next_page_token());
      });
}

grpc::ServerUnaryReactor* TrackService::GetPublishedTrack(
    grpc::CallbackServerContext* context, const v1::GetPublishedTrackRequest* request,
    v1::GetPublishedTrackResponse* response) {
  const std::optional<state::Sid> sid = state::Sid::TryParse(request->track(), state::kTrackPrefix);
  return ReadParticipant(
      context, auth_, applier_, *request,
      [&](const state::Roster& roster, const state::Participant& participant) -> absl::Status {
        for (const state::PublishedTrack* track : roster.TracksOf(participant.sid)) {
          if ((sid && track->sid == *sid) ||
              (track->published() && track->name == request->track())) {
            converter_.ToProto(*track, response->mutable_published_track());
            return absl::OkStatus();
          }
        }
        return absl::NotFoundError(absl::StrCat("track: participant ", request->participant_sid(),
                                                " has no track ", request->track()));
      },
      [&] {
        return request->track().empty()
                   ? absl::InvalidArgumentError("track: is required (a track SID or name)")
                   : absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TrackService::ListSubscribedTracks(
    grpc::CallbackServerContext* context, const v1::ListSubscribedTracksRequest* request,
    v1::ListSubscribedTracksResponse* response) {
  return ReadParticipant(context, auth_, applier_, *request,
                         [&](const state::Roster& roster, const state::Participant& participant) {
                           return Paginate(
                               roster.SubscribedTracks(participant.sid), participant.sid.ToString(),
                               request->page_size(), request->page_token(),
                               [&](const state::SubscribedTrack& s) {
                                 converter_.ToProto(s, response->add_subscribed_tracks());
                               },
                               response->mutable_next_page_token());
                         });
}

grpc::ServerUnaryReactor* TrackService::GetSubscribedTrack(
    grpc::CallbackServerContext* context, const v1::GetSubscribedTrackRequest* request,
    v1::GetSubscribedTrackResponse* response) {
  std::optional<state::Sid> track_sid;
  return ReadParticipant(
      context, auth_, applier_, *request,
      [&](const state::Roster& roster, const state::Participant& participant) -> absl::Status {
        for (const state::SubscribedTrack* s : roster.SubscribedTracks(participant.sid)) {
          if (s->sid != *track_sid) continue;
          converter_.ToProto(*s, response->mutable_subscribed_track());
          return absl::OkStatus();
        }
        return absl::NotFoundError(absl::StrCat("track_sid: participant ",
                                                request->participant_sid(),
                                                " is not subscribed to ", request->track_sid()));
      },
      [&]() -> absl::Status {
        ASSIGN_OR_RETURN(track_sid,
                         state::Sid::Parse(request->track_sid(), state::kTrackPrefix, "track_sid"));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TrackService::GetSubscribeRules(
    grpc::CallbackServerContext* context, const v1::GetSubscribeRulesRequest* request,
    v1::GetSubscribeRulesResponse* response) {
  return ReadParticipant(context, auth_, applier_, *request,
                         [&](const state::Roster& roster, const state::Participant& participant) {
                           Converter::ToProto(state::EffectiveRules(roster, participant),
                                              response->mutable_subscribe_rules());
                           return absl::OkStatus();
                         });
}

grpc::ServerUnaryReactor* TrackService::UpdateSubscribeRules(
    grpc::CallbackServerContext* context, const v1::UpdateSubscribeRulesRequest* request,
    v1::UpdateSubscribeRulesResponse* response) {
  auto input = [&](const state::Sid& account) -> absl::StatusOr<state::Input> {
    state::UpdateSubscribeRules command;
    command.account_sid = account;
    command.room = request->room();
    command.participant_sid = request->participant_sid();
    ASSIGN_OR_RETURN(command.rules, Converter::FromProto(request->rules()));
    return command;
  };
  return AdminCommand(context, auth_, applier_, "update_subscribe_rules", request->account_sid(),
                      {{"room", request->room()}, {"participant_sid", request->participant_sid()}},
                      input, [response](const state::Outcome& outcome) {
                        if (outcome.rules) {
                          Converter::ToProto(*outcome.rules, response->mutable_subscribe_rules());
                        }
                        response->set_revision(outcome.revision);
                      });
}

}  // namespace rollcall::service
