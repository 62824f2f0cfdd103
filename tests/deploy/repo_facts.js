// What the deploy tests read from the rest of the repository, each parsed in one place: the
// flags rollcalld takes from ROLLCALL_* variables, its health service names, the Dockerfile's
// stages and the tags of scripts/debian-packages.txt. A parse that finds nothing throws, so a
// moved or renamed source fails the tests loudly instead of weakening them.
'use strict';

const {execFileSync} = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');

function read(relative) {
  return fs.readFileSync(path.join(root, relative), 'utf8');
}

// Flags rollcalld also reads from ROLLCALL_<FLAG>, as the built binary lists them
// (`rollcalld --list_env`: "VARIABLE --flag" lines). The binary comes from $ROLLCALLD, which
// CMake sets for the deploy tests.
function environmentFlags() {
  const binary = process.env.ROLLCALLD;
  if (!binary) throw new Error('$ROLLCALLD is not set: the path of the built rollcalld');
  const output = execFileSync(binary, ['--list_env'], {encoding: 'utf8'});
  const flags = [...output.matchAll(/^ROLLCALL_\w+ --(\w+)$/gm)].map((m) => m[1]);
  if (flags.length === 0) throw new Error(`${binary} --list_env listed no flags`);
  return new Set(flags);
}

// The variable's flag name: ROLLCALL_DATA_DIR -> data_dir (null if not a ROLLCALL_ name).
function flagOfVariable(variable) {
  const m = /^ROLLCALL_([A-Z0-9_]+)$/.exec(variable);
  return m ? m[1].toLowerCase() : null;
}

// The gRPC health service names the server registers, {liveness, readiness}.
function healthNames() {
  const names = {};
  for (const file of ['service/server.h', 'service/server.cc']) {
    if (!fs.existsSync(path.join(root, file))) continue;
    const source = read(file);
    for (const [key, constant] of [['liveness', 'kLiveness'], ['readiness', 'kReadiness']]) {
      const m = new RegExp(`${constant}\\s*=\\s*"([^"]*)"`).exec(source);
      if (m && names[key] === undefined) names[key] = m[1];
    }
  }
  if (names.liveness === undefined || names.readiness === undefined) {
    throw new Error('service/server.{h,cc}: kLiveness or kReadiness not found');
  }
  return names;
}

// The Dockerfile as stages: [{name, base, instructions: [{keyword, args, line}]}]. Continuation
// lines are joined; comments and parser directives are dropped.
function dockerfileStages(relative = 'deploy/docker/Dockerfile') {
  const logical = [];
  let pending = '';
  let startLine = 0;
  read(relative).split('\n').forEach((text, index) => {
    if (pending === '' && /^\s*(#.*)?$/.test(text)) return;
    if (pending === '') startLine = index + 1;
    if (/\\\s*$/.test(text)) {
      pending += text.replace(/\\\s*$/, ' ');
      return;
    }
    logical.push({text: pending + text, line: startLine});
    pending = '';
  });
  const stages = [];
  const globalArgs = {};  // ARGs before the first FROM, usable in FROM lines
  for (const {text, line} of logical) {
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(text);
    if (!m) continue;
    const instruction = {keyword: m[1].toUpperCase(), args: m[2].trim(), line};
    if (instruction.keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(instruction.args);
      const base = from[1].replace(/\$\{?(\w+)\}?/g, (all, name) => globalArgs[name] ?? all);
      stages.push({base, name: from[2] || String(stages.length), instructions: []});
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    } else if (instruction.keyword === 'ARG') {
      const [name, value] = instruction.args.split('=');
      globalArgs[name] = value ?? '';
    }
  }
  if (stages.length === 0) throw new Error(`${relative}: no FROM`);
  return stages;
}

// The uid the image's final stage runs as (its last USER), or null.
function imageUid() {
  const stages = dockerfileStages();
  const users = stages[stages.length - 1].instructions.filter((i) => i.keyword === 'USER');
  if (users.length === 0) return null;
  const user = users[users.length - 1].args.split(':')[0];
  return /^\d+$/.test(user) ? Number(user) : user;
}

// scripts/debian-packages.txt as Map(package -> Set(tags)).
function debianPackages() {
  const packages = new Map();
  for (const line of read('scripts/debian-packages.txt').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) continue;
    packages.set(fields[0], new Set(fields.slice(1)));
  }
  return packages;
}

// Collects failed checks; report() prints them and sets the exit code.
class Checks {
  constructor(title) {
    this.title = title;
    this.failures = [];
    this.count = 0;
  }
  expect(condition, message) {
    this.count += 1;
    if (!condition) this.failures.push(message);
    return condition;
  }
  report() {
    for (const failure of this.failures) console.error(`FAIL: ${failure}`);
    if (this.failures.length > 0) {
      console.error(`${this.title}: ${this.failures.length} of ${this.count} checks failed`);
      process.exitCode = 1;
    } else {
      console.log(`${this.title}: all ${this.count} checks hold`);
    }
  }
}

module.exports = {
  root,
  read,
  environmentFlags,
  flagOfVariable,
  healthNames,
  dockerfileStages,
  imageUid,
  debianPackages,
  Checks,
};
