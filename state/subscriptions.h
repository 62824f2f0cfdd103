// Subscribe rules and the subscribed tracks they derive (docs/tracks.md), with Twilio's
// semantics: rules apply in order, an include rule adds the tracks it matches and an exclude
// rule removes them; a rule's filters (all, kind, publisher, track) are ANDed; nobody
// subscribes to its own tracks, and only the published tracks of the room's other active
// participants are candidates.
#ifndef ROLLCALL_STATE_SUBSCRIPTIONS_H_
#define ROLLCALL_STATE_SUBSCRIPTIONS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "state/records.h"
#include "state/roster_view.h"

namespace rollcall::state {

// [{type: include, all: true}]: what a participant has until its rules are updated.
const std::vector<SubscribeRule>& DefaultSubscribeRules();

// The participant's rules as the API shows them: the stored set, or the default one dated
// like the participant.
SubscribeRules EffectiveRules(const RosterView& roster, const Participant& participant);

// 1..20 rules, each include or exclude with `all` alone or at least one of kind, publisher,
// track, each well formed. INVALID_ARGUMENT names the rule: "rules[2].kind: ...".
absl::Status ValidateSubscribeRules(const std::vector<SubscribeRule>& rules);

// Whether `rule`'s filters all match `track`, published by a participant with `identity`.
bool Matches(const SubscribeRule& rule, const PublishedTrack& track, absl::string_view identity);

// Whether `rules`, applied in order, leave `track` subscribed.
bool Admits(const std::vector<SubscribeRule>& rules, const PublishedTrack& track,
            absl::string_view publisher_identity);

// The SUBSCRIBED_TRACK_ADDED / REMOVED / UPDATED changes that `changes` (the revision so far)
// cause in `room_sid`: the room's subscriptions recomputed from scratch after the changes,
// compared with those `roster` holds before them.
std::vector<Change> SubscriptionChanges(const RosterView& roster, const Sid& room_sid,
                                        const std::vector<Change>& changes, uint64_t revision,
                                        absl::Time now);

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_SUBSCRIPTIONS_H_
