// Seeded property test of RoomMachine + Roster: thousands of random input sequences (see
// random_inputs.h), with the invariants of docs/api.md checked after every step, and a
// replay of each sequence on a fresh roster that must reproduce it exactly.
//
// The seed comes from ROLLCALL_PROPERTY_SEED when set, else a fixed default; a few seeds are
// derived from it. A failure names its seed and sequence: rerun with
// ROLLCALL_PROPERTY_SEED=<seed> to reproduce it first.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/records.h"
#include "state/room_machine.h"
#include "state/roster.h"
#include "tests/state/invariants.h"
#include "tests/state/random_inputs.h"
#include "tests/state/state_harness.h"

namespace rollcall::state {
namespace {

using test::AccountA;
using test::FloorSeconds;
using test::Harness;
using test::InputGenerator;
using test::Observe;
using test::Observed;

constexpr uint64_t kDefaultSeed = 20231114;
constexpr int kSeeds = 4;
constexpr int kSequencesPerSeed = 500;  // 2,000 sequences in all

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t BaseSeed() {
  const char* env = std::getenv("ROLLCALL_PROPERTY_SEED");
  uint64_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return kDefaultSeed;
}

std::vector<uint64_t> Seeds() {
  const uint64_t base = BaseSeed();
  std::vector<uint64_t> seeds = {base};
  for (int i = 1; i < kSeeds; ++i) seeds.push_back(SplitMix(base + static_cast<uint64_t>(i)));
  return seeds;
}

// The roster holds the last version of every track, rule set and subscription a revision
// changed (and no longer holds a removed subscription).
void CheckTrackChanges(const Roster& roster, const Outcome& outcome) {
  std::map<Sid, const PublishedTrack*> tracks;
  std::map<Sid, const SubscribeRules*> rules;
  std::map<std::pair<Sid, Sid>, const Change*> subscriptions;
  for (const Change& c : outcome.changes) {
    if (const auto* t = std::get_if<PublishedTrack>(&c.resource)) tracks[t->sid] = t;
    if (const auto* r = std::get_if<SubscribeRules>(&c.resource)) rules[r->participant_sid] = r;
    if (const auto* s = std::get_if<SubscribedTrack>(&c.resource)) {
      subscriptions[{s->participant_sid, s->sid}] = &c;
    }
  }
  for (const auto& [sid, track] : tracks) {
    ASSERT_NE(roster.FindTrack(sid), nullptr);
    EXPECT_EQ(*roster.FindTrack(sid), *track);
  }
  for (const auto& [sid, set] : rules) {
    ASSERT_NE(roster.FindRules(sid), nullptr);
    EXPECT_EQ(*roster.FindRules(sid), *set);
  }
  for (const auto& [key, change] : subscriptions) {
    const SubscribedTrack* held = nullptr;
    for (const SubscribedTrack* s : roster.SubscribedTracks(key.first)) {
      if (s->sid == key.second) held = s;
    }
    if (change->type == ChangeType::kSubscribedTrackRemoved) {
      EXPECT_EQ(held, nullptr) << ::testing::PrintToString(*change);
    } else {
      ASSERT_NE(held, nullptr) << ::testing::PrintToString(*change);
      EXPECT_EQ(*held, std::get<SubscribedTrack>(change->resource));
    }
  }
}

// A room change finds nobody active in its room, counting the revision's participant changes
// up to it: what lets the watch rendering (service/convert.cc, SerializeChangeSet) give a
// room change participant_count 0 without carrying a count in the change log. The count at
// a change is the count after the revision less what the later changes of the revision did.
void CheckRoomChangesFindTheRoomEmpty(const Roster& roster, const Outcome& outcome) {
  for (size_t i = 0; i < outcome.changes.size(); ++i) {
    const auto* room = std::get_if<Room>(&outcome.changes[i].resource);
    if (room == nullptr) continue;
    int32_t active = roster.Activity(room->sid).active;
    for (size_t j = i + 1; j < outcome.changes.size(); ++j) {
      const Change& later = outcome.changes[j];
      const auto* p = std::get_if<Participant>(&later.resource);
      if (p == nullptr || p->room_sid != room->sid) continue;
      const bool was_active = later.previous_status == ParticipantStatus::kConnected ||
                              later.previous_status == ParticipantStatus::kReconnecting;
      active -= (p->active() ? 1 : 0) - (was_active ? 1 : 0);
    }
    EXPECT_EQ(active, 0) << TestName(outcome.changes[i].type) << " of "
                         << ::testing::PrintToString(*room) << " with participants active";
  }
}

// `text` spells `sid`: the same prefix, the hex in either case.
bool SameSidText(absl::string_view text, const Sid& sid) {
  const std::string canonical = sid.ToString();
  return text.size() == canonical.size() && text.substr(0, 2) == sid.prefix() &&
         absl::AsciiStrToLower(text.substr(2)) == canonical.substr(2);
}

// Twilio's rule semantics written out again, independently of state/subscriptions.cc.
bool BruteForceAdmits(const std::vector<SubscribeRule>& rules, const PublishedTrack& track,
                      const Participant& publisher) {
  bool admitted = false;
  for (const SubscribeRule& rule : rules) {
    bool match = rule.all;
    if (!rule.all) {
      match =
          (rule.kind == TrackKind::kUnspecified || rule.kind == track.kind) &&
          (rule.publisher.empty() || rule.publisher == publisher.identity ||
           SameSidText(rule.publisher, publisher.sid)) &&
          (rule.track.empty() || rule.track == track.name || SameSidText(rule.track, track.sid));
    }
    if (match) admitted = rule.type == RuleType::kInclude;
  }
  return admitted;
}

// The maintained subscriptions equal a brute-force evaluation over the whole roster, and the
// tracks obey their own rules.
void CheckSubscriptions(const Roster& roster) {
  std::vector<Participant> everyone;
  roster.ForEachParticipant(AccountA(), std::nullopt,
                            [&](const Participant& p) { everyone.push_back(p); });
  size_t published = 0;
  for (const Participant& p : everyone) {
    std::set<std::string> names;
    int count = 0;
    for (const PublishedTrack* t : roster.TracksOf(p.sid)) {
      EXPECT_EQ(t->room_sid, p.room_sid);
      if (!t->published()) continue;
      ++published;
      ++count;
      EXPECT_TRUE(p.active()) << "only active participants publish "
                              << ::testing::PrintToString(*t);
      EXPECT_TRUE(names.insert(t->name).second) << "names are unique among published tracks";
    }
    EXPECT_LE(count, roster.limits().max_tracks_per_participant);
  }
  EXPECT_EQ(roster.published_track_count(), published);
  for (const Participant& subscriber : everyone) {
    std::vector<SubscribedTrack> expected;
    if (subscriber.active()) {
      const SubscribeRules* stored = roster.FindRules(subscriber.sid);
      std::vector<SubscribeRule> include_all(1);
      include_all[0].type = RuleType::kInclude;
      include_all[0].all = true;
      const std::vector<SubscribeRule>& rules = stored ? stored->rules : include_all;
      for (const Participant& publisher : everyone) {
        if (!publisher.active() || publisher.sid == subscriber.sid ||
            publisher.room_sid != subscriber.room_sid) {
          continue;
        }
        for (const PublishedTrack* t : roster.TracksOf(publisher.sid)) {
          if (!t->published() || !BruteForceAdmits(rules, *t, publisher)) continue;
          SubscribedTrack& s = expected.emplace_back();
          s.sid = t->sid;
          s.publisher_sid = publisher.sid;
          s.name = t->name;
          s.kind = t->kind;
          s.enabled = t->enabled;
        }
      }
    }
    std::sort(expected.begin(), expected.end(),
              [](const SubscribedTrack& a, const SubscribedTrack& b) { return a.sid < b.sid; });
    std::vector<SubscribedTrack> held;
    for (const SubscribedTrack* s : roster.SubscribedTracks(subscriber.sid)) {
      SubscribedTrack& h = held.emplace_back();
      h.sid = s->sid;
      h.publisher_sid = s->publisher_sid;
      h.name = s->name;
      h.kind = s->kind;
      h.enabled = s->enabled;
      EXPECT_EQ(s->participant_sid, subscriber.sid);
      EXPECT_EQ(s->room_sid, subscriber.room_sid);
    }
    EXPECT_EQ(held, expected) << "subscriptions of " << subscriber.sid.ToString();
  }
}

struct Recorded {
  InputGenerator::Step step;
  Observed observed;
};

// Runs one random sequence, checking every step; returns what it did for the replay.
std::vector<Recorded> RunSequence(uint64_t seed, int steps) {
  std::vector<Recorded> recorded;
  Harness h(test::PropertyLimits());
  InputGenerator gen(seed);
  test::SequenceChecker checker;

  for (int i = 0; i < steps; ++i) {
    const InputGenerator::Step step = gen.Next(h.roster().NextTimer());
    SCOPED_TRACE(i);  // the step number; details are added below on failure
    h.SetNow(step.now);
    checker.Before(h.roster(), step);
    const absl::StatusOr<Outcome> result = h.Step(step.input);
    gen.Learn(result);
    recorded.push_back({step, Observe(result)});
    if (const auto* fire = std::get_if<FireTimer>(&step.input);
        fire != nullptr && result.ok() && result->disposition == Disposition::kApplied) {
      gen.Fired(fire->timer);
    }
    checker.After(h, step, result);
    if (result.ok() && result->disposition == Disposition::kApplied) {
      CheckTrackChanges(h.roster(), *result);
      CheckRoomChangesFindTheRoomEmpty(h.roster(), *result);
    }
    CheckSubscriptions(h.roster());
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "step " << i << " at " << test::TimeText(step.now) << " decided "
                    << test::Describe(result)
                    << "\nroster after: " << ::testing::PrintToString(h.Dump());
      return recorded;
    }
  }

  // Replay on a fresh roster and IdSource: the same results and the same final state.
  Harness replay(test::PropertyLimits());
  for (size_t i = 0; i < recorded.size(); ++i) {
    replay.SetNow(recorded[i].step.now);
    const Observed again = Observe(replay.Step(recorded[i].step.input));
    EXPECT_EQ(again, recorded[i].observed) << "replay diverged at step " << i;
    if (::testing::Test::HasFailure()) return recorded;
  }
  EXPECT_EQ(replay.Dump(), h.Dump());
  return recorded;
}

TEST(PropertyTest, RandomSequencesKeepInvariantsAndReplayIdentically) {
  std::map<absl::StatusCode, int> codes;
  std::map<Disposition, int> dispositions;
  std::map<std::string, int> kinds;
  int sequences = 0;
  for (const uint64_t seed : Seeds()) {
    for (int s = 0; s < kSequencesPerSeed; ++s) {
      const uint64_t sequence_seed = SplitMix(seed ^ (static_cast<uint64_t>(s) << 20));
      SCOPED_TRACE(absl::StrCat("ROLLCALL_PROPERTY_SEED=", seed, " sequence ", s,
                                " (sequence seed ", sequence_seed, ")"));
      const int steps = 30 + static_cast<int>(sequence_seed % 51);
      for (const Recorded& r : RunSequence(sequence_seed, steps)) {
        ++codes[r.observed.code];
        if (r.observed.disposition) ++dispositions[*r.observed.disposition];
        const Participant* departed = nullptr;
        for (const Change& c : r.observed.changes) {
          ++kinds[TestName(c.type)];
          if (const auto* p = std::get_if<Participant>(&c.resource); p && !p->active())
            departed = p;
          if (c.type == ChangeType::kTrackUnpublished && departed != nullptr) {
            ++kinds[absl::StrCat("unpublished_by:", TestName(departed->disconnect_reason))];
          }
          if (const auto* p = std::get_if<Participant>(&c.resource);
              p != nullptr && c.type == ChangeType::kParticipantDisconnected) {
            ++kinds[absl::StrCat("reason:", TestName(p->disconnect_reason))];
          }
        }
      }
      ++sequences;
      if (HasFailure()) return;
    }
  }
  EXPECT_GE(sequences, 2000);
  // The generator reaches every outcome the invariants are about; otherwise the test proves
  // little. (Counts are over all steps of all sequences.)
  for (const absl::StatusCode code :
       {absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kResourceExhausted,
        absl::StatusCode::kAlreadyExists}) {
    EXPECT_GT(codes[code], 20) << absl::StatusCodeToString(code);
  }
  for (const Disposition d :
       {Disposition::kApplied, Disposition::kDuplicate, Disposition::kIgnored}) {
    EXPECT_GT(dispositions[d], 20) << TestName(d);
  }
  for (const char* kind : {"ROOM_CREATED",
                           "ROOM_ENDED",
                           "PARTICIPANT_CONNECTED",
                           "PARTICIPANT_RECONNECTING",
                           "PARTICIPANT_RECONNECTED",
                           "PARTICIPANT_DISCONNECTED",
                           "PARTICIPANT_ANONYMIZED",
                           "reason:CLIENT_INITIATED",
                           "reason:DUPLICATE_IDENTITY",
                           "reason:REMOVED",
                           "reason:RECONNECT_TIMEOUT",
                           "reason:SESSION_LIMIT",
                           "reason:ROOM_ENDED",
                           "TRACK_PUBLISHED",
                           "TRACK_UNPUBLISHED",
                           "TRACK_ENABLED",
                           "TRACK_DISABLED",
                           "SUBSCRIBE_RULES_UPDATED",
                           "SUBSCRIBED_TRACK_ADDED",
                           "SUBSCRIBED_TRACK_REMOVED",
                           "SUBSCRIBED_TRACK_UPDATED",
                           "unpublished_by:REMOVED",
                           "unpublished_by:ROOM_ENDED",
                           "unpublished_by:DUPLICATE_IDENTITY",
                           "unpublished_by:RECONNECT_TIMEOUT"}) {
    EXPECT_GT(kinds[kind], 5) << kind;
  }
  std::string summary;
  for (const auto& [kind, n] : kinds) absl::StrAppend(&summary, kind, "=", n, " ");
  RecordProperty("change_kinds", summary);
}

TEST(PropertyTest, SeedsAreDerivedFromTheBaseSeed) {
  const std::vector<uint64_t> seeds = Seeds();
  ASSERT_EQ(seeds.size(), static_cast<size_t>(kSeeds));
  EXPECT_EQ(seeds[0], BaseSeed());
  EXPECT_EQ(std::set<uint64_t>(seeds.begin(), seeds.end()).size(), seeds.size());
}

}  // namespace
}  // namespace rollcall::state
