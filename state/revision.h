// RevisionDraft: accumulates the changes one applied input makes, under one revision number. Every
// kApplied outcome the machine returns is finished by Applied(), which adds what follows from
// the changes themselves, so no decision path can forget it (docs/tracks.md):
// - a participant that stops being active unpublishes its published tracks, right after its
//   own change;
// - every room the revision touches gets its subscribed-track changes, last.
#ifndef ROLLCALL_STATE_REVISION_H_
#define ROLLCALL_STATE_REVISION_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "state/records.h"
#include "state/roster_view.h"

namespace rollcall::state {

class RevisionDraft {
 public:
  RevisionDraft(const RosterView& roster, absl::Time now)
      : roster_(roster), number_(roster.revision() + 1), now_(now) {}

  uint64_t number() const { return number_; }
  absl::Time now() const { return now_; }

  void Add(ChangeType type, Participant participant, ParticipantStatus previous);
  void Add(ChangeType type, Room room);
  void Add(ChangeType type, PublishedTrack track);
  void Add(ChangeType type, SubscribeRules rules);
  // The latest version of a participant in this revision; one must have been added.
  const Participant& LastParticipant() const;

  Outcome Applied() &&;

 private:
  const RosterView& roster_;
  uint64_t number_;
  absl::Time now_;
  std::vector<Change> changes_;
};

// The last room change of an outcome; one must be there.
const Room& LastRoom(const Outcome& outcome);

}  // namespace rollcall::state

#endif  // ROLLCALL_STATE_REVISION_H_
