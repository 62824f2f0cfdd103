"""Drives rollcalld's REST port with Twilio's own Python helper library (Debian's
python3-twilio), unchanged: only the Video domain's base URL points at rollcalld.

Run by tests/e2e/rest_clients_test.cc, which starts rollcalld, creates through gRPC ingest the
room and participants named in the environment, runs this script, and then checks over gRPC
what it changed. Exits 0 when every check passed; any failed assertion exits non-zero with a
traceback.
"""

import datetime
import json
import os
import sys

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

env = os.environ
URL = env["ROLLCALL_REST_URL"]
ROOM, ALICE, BOB, CAM = env["ROOM"], env["ALICE_SID"], env["BOB_SID"], env["CAM_SID"]


def client_with(username, password):
    client = Client(username, password, env["ACCOUNT_SID"])
    client.video.base_url = URL  # the one change from talking to Twilio
    return client


def expect_error(call, code, status):
    try:
        call()
    except TwilioRestException as error:
        assert error.code == code, f"code {error.code}, want {code}: {error.msg}"
        assert error.status == status, f"status {error.status}, want {status}"
        return error
    raise AssertionError(f"no TwilioRestException (want code {code})")


admin = client_with(env["KEY_SID"], env["KEY_SECRET"])
rooms = admin.video.v1.rooms

# Rooms: create, fetch by SID and by unique name, list with auto-paging, end.
created = [rooms.create(unique_name=f"py-{i}", max_participants=4, empty_room_timeout=2)
           for i in range(5)]
for i, room in enumerate(created):
    assert room.sid.startswith("RM") and room.unique_name == f"py-{i}", room.sid
    assert room.status == "in-progress" and room.max_participants == 4
    assert room.empty_room_timeout == 2 and room.end_time is None and room.duration is None
    assert isinstance(room.date_created, datetime.datetime), room.date_created
assert rooms(created[0].sid).fetch().unique_name == "py-0"
assert rooms("py-1").fetch().sid == created[1].sid

first_page = rooms.page(status="in-progress", page_size=2)
assert first_page.next_page_url, "paging must take several pages"
assert len(list(first_page)) == 2
listed = rooms.list(status="in-progress", page_size=2)
names = [room.unique_name for room in listed]
assert len(names) == len(set(names)), f"a page repeated rooms: {names}"
assert {f"py-{i}" for i in range(5)} <= set(names), names

ended = rooms(created[0].sid).update(status="completed")
assert ended.status == "completed" and ended.end_time is not None and ended.duration is not None
completed = [room.sid for room in rooms.list(status="completed", page_size=2)]
assert created[0].sid in completed and created[1].sid not in completed

# Participants created through gRPC ingest: list, fetch by SID and identity, tracks, rules.
participants = rooms(ROOM).participants
connected = participants.list(status="connected")
assert sorted(p.identity for p in connected) == ["alice", "bob"], connected
alice = participants(ALICE).fetch()
assert alice.identity == "alice" and alice.status == "connected" and alice.room_sid.startswith("RM")
assert alice.end_time is None and alice.duration is None
assert participants("bob").fetch().sid == BOB

published = participants(ALICE).published_tracks.list()
assert [(t.sid, t.name, t.kind, t.enabled) for t in published] == [(CAM, "cam", "video", True)]
assert participants(ALICE).published_tracks(CAM).fetch().name == "cam"
received = participants(BOB).subscribed_tracks.list()
assert [(t.sid, t.publisher_sid, t.kind) for t in received] == [(CAM, ALICE, "video")], received
assert participants(BOB).subscribed_tracks(CAM).fetch().participant_sid == BOB

rules = participants(BOB).subscribe_rules.fetch()
assert rules.rules == [{"type": "include", "all": True}], rules.rules
replaced = participants(BOB).subscribe_rules.update(
    rules=[{"type": "include", "all": True}, {"type": "exclude", "kind": "video"}])
assert replaced.rules == [{"type": "include", "all": True},
                          {"type": "exclude", "kind": "video"}], replaced.rules
assert participants(BOB).subscribed_tracks.list() == []

# Kick bob; anonymize him (python3-twilio 7.7 predates the Anonymize resource, so through the
# library's own authenticated request).
kicked = participants(BOB).update(status="disconnected")
assert kicked.status == "disconnected" and kicked.end_time is not None
response = admin.request("POST", f"{URL}/v1/Rooms/{ROOM}/Participants/{BOB}/Anonymize")
assert response.status_code == 202, response.status_code
assert json.loads(response.text)["identity"] != "bob"

# Errors: each a TwilioRestException with Twilio's code and status.
expect_error(lambda: rooms.create(unique_name="bad", max_participants=0), 53107, 400)
expect_error(lambda: rooms.create(unique_name="py-1"), 53113, 400)
expect_error(lambda: rooms("RM" + "0" * 32).fetch(), 20404, 404)
expect_error(lambda: participants("PA" + "0" * 32).fetch(), 20404, 404)
expect_error(lambda: participants(ALICE).update(status="connected"), 53209, 400)
expect_error(lambda: participants(ALICE).subscribe_rules.update(rules=[{"type": "maybe"}]),
             53215, 400)
expect_error(lambda: rooms(created[1].sid).update(status="in-progress"), 53112, 400)
wrong = client_with(env["KEY_SID"], "0" * 48)
expect_error(lambda: wrong.video.v1.rooms(created[1].sid).fetch(), 20003, 401)
expect_error(lambda: wrong.video.v1.rooms.create(unique_name="nope"), 20003, 401)
# python3-twilio 7.7 reads list pages without parsing errors: it raises its base
# TwilioException with the response (real Twilio gets the same treatment).
try:
    wrong.video.v1.rooms.list()
    raise AssertionError("listing with a wrong secret succeeded")
except TwilioRestException:
    raise
except TwilioException as error:
    assert error.args[1].status_code == 401 and '"code":20003' in error.args[1].text, error

print("python3-twilio: every check passed")
sys.exit(0)
