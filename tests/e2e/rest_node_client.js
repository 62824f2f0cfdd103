// Drives rollcalld's REST port with Twilio's own Node helper library (npm `twilio`, pinned by
// package-lock.json), unchanged: only the Video domain's base URL points at rollcalld.
//
// Run by tests/e2e/rest_clients_test.cc, which starts rollcalld, creates through gRPC ingest the
// room and participants named in the environment, runs this script, and then checks over gRPC
// what it changed. Exits 0 when every check passed, non-zero with the failed assertion.
"use strict";

const assert = require("node:assert/strict");
const twilio = require("twilio");

const env = process.env;
const URL = env.ROLLCALL_REST_URL;
const { ROOM, ALICE_SID: ALICE, BOB_SID: BOB, CAM_SID: CAM } = env;

function clientWith(username, password) {
  const client = twilio(username, password, { accountSid: env.ACCOUNT_SID });
  client.video.baseUrl = URL; // the one change from talking to Twilio
  return client;
}

// Rules as plain objects: the library wraps each in a class with every filter, unset ones
// undefined.
function plain(rules) {
  return rules.map((rule) =>
    Object.fromEntries(Object.entries(rule).filter(([, value]) => value !== undefined)),
  );
}

async function expectError(call, code, status) {
  let caught;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof twilio.RestException, `want RestException ${code}, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status);
  assert.match(caught.moreInfo, new RegExp(`/${code}$`));
}

async function main() {
  const admin = clientWith(env.KEY_SID, env.KEY_SECRET);
  const rooms = admin.video.v1.rooms;

  // Rooms: create, fetch by SID and by unique name, list with auto-paging, end.
  const created = [];
  for (let i = 0; i < 5; i++) {
    created.push(await rooms.create({ uniqueName: `js-${i}`, maxParticipants: 3 }));
  }
  created.forEach((room, i) => {
    assert.match(room.sid, /^RM[0-9a-f]{32}$/);
    assert.equal(room.uniqueName, `js-${i}`);
    assert.equal(room.status, "in-progress");
    assert.equal(room.maxParticipants, 3);
    assert.ok(room.dateCreated instanceof Date && !isNaN(room.dateCreated));
    assert.equal(room.endTime, null);
  });
  assert.equal((await rooms(created[0].sid).fetch()).uniqueName, "js-0");
  assert.equal((await rooms("js-1").fetch()).sid, created[1].sid);

  const firstPage = await rooms.page({ status: "in-progress", pageSize: 2 });
  assert.equal(firstPage.instances.length, 2);
  assert.ok(firstPage.nextPageUrl, "paging must take several pages");
  const names = (await rooms.list({ status: "in-progress", pageSize: 2 })).map((r) => r.uniqueName);
  assert.equal(new Set(names).size, names.length, `a page repeated rooms: ${names}`);
  for (let i = 0; i < 5; i++) assert.ok(names.includes(`js-${i}`), names.join());

  const ended = await rooms(created[0].sid).update({ status: "completed" });
  assert.equal(ended.status, "completed");
  assert.ok(ended.endTime instanceof Date);
  const completed = (await rooms.list({ status: "completed", pageSize: 2 })).map((r) => r.sid);
  assert.ok(completed.includes(created[0].sid) && !completed.includes(created[1].sid));

  // Participants created through gRPC ingest: list, fetch by SID and identity, tracks, rules.
  const participants = rooms(ROOM).participants;
  const connected = await participants.list({ status: "connected" });
  assert.deepEqual(connected.map((p) => p.identity).sort(), ["alice", "bob"]);
  const alice = await participants(ALICE).fetch();
  assert.equal(alice.identity, "alice");
  assert.equal(alice.status, "connected");
  assert.equal(alice.duration, null);
  assert.equal((await participants("bob").fetch()).sid, BOB);

  const published = await participants(ALICE).publishedTracks.list();
  assert.deepEqual(
    published.map((t) => [t.sid, t.name, t.kind, t.enabled]),
    [[CAM, "cam", "video", true]],
  );
  assert.equal((await participants(ALICE).publishedTracks(CAM).fetch()).name, "cam");
  const received = await participants(BOB).subscribedTracks.list();
  assert.deepEqual(
    received.map((t) => [t.sid, t.publisherSid, t.kind]),
    [[CAM, ALICE, "video"]],
  );
  assert.equal((await participants(BOB).subscribedTracks(CAM).fetch()).participantSid, BOB);

  const rules = await participants(BOB).subscribeRules.fetch();
  assert.deepEqual(plain(rules.rules), [{ type: "include", all: true }]);
  const replaced = await participants(BOB).subscribeRules.update({
    rules: [{ type: "include", all: true }, { type: "exclude", kind: "video" }],
  });
  assert.deepEqual(plain(replaced.rules), [
    { type: "include", all: true },
    { type: "exclude", kind: "video" },
  ]);
  assert.deepEqual(await participants(BOB).subscribedTracks.list(), []);

  // Kick bob, then anonymize him.
  const kicked = await participants(BOB).update({ status: "disconnected" });
  assert.equal(kicked.status, "disconnected");
  assert.ok(kicked.endTime instanceof Date);
  const anonymized = await participants(BOB).anonymize().update();
  assert.equal(anonymized.sid, BOB);
  assert.notEqual(anonymized.identity, "bob");

  // Errors: each a RestException with Twilio's code and status.
  await expectError(() => rooms.create({ uniqueName: "bad", maxParticipants: 0 }), 53107, 400);
  await expectError(() => rooms.create({ uniqueName: "js-1" }), 53113, 400);
  await expectError(() => rooms("RM" + "0".repeat(32)).fetch(), 20404, 404);
  await expectError(() => participants("PA" + "0".repeat(32)).fetch(), 20404, 404);
  await expectError(() => participants(ALICE).update({ status: "connected" }), 53209, 400);
  await expectError(
    () => participants(ALICE).subscribeRules.update({ rules: [{ type: "maybe" }] }),
    53215,
    400,
  );
  await expectError(() => rooms(created[1].sid).update({ status: "in-progress" }), 53112, 400);
  const wrong = clientWith(env.KEY_SID, "0".repeat(48));
  await expectError(() => wrong.video.v1.rooms.list(), 20003, 401);

  console.log("twilio (npm): every check passed");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
