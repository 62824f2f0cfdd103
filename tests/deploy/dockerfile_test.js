// deploy_dockerfile: no container engine runs where the tests run, so the image is checked here
// instead of built. deploy/docker/Dockerfile must install Debian packages only through
// scripts/bootstrap from scripts/debian-packages.txt, copy only paths that exist and that
// .dockerignore lets through, build what CMake configures, and end in a non-root runtime stage
// with the store on a volume. Given the built binaries, every shared library they load must
// come from a Debian package tagged `runtime`, and every `runtime` library package must be
// loaded by one of them: the runtime stage then holds exactly what the binaries need.
// Usage: node tests/deploy/dockerfile_test.js [BINARY...]   (no binaries: static checks only)
'use strict';

const {execFileSync, spawnSync} = require('child_process');
const fs = require('fs');
const path = require('path');
const facts = require('./repo_facts');

// Packages every Debian image has (the C and C++ runtime); builder and runtime stages share the
// same base image, so these match what the binaries were linked against.
const kBaseImagePackages = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);

const checks = new facts.Checks('deploy_dockerfile');

// --- .dockerignore, with Docker's rules: patterns are relative to the context root, `**`
// spans directories, a later `!pattern` re-includes, and excluding a directory excludes all
// beneath it.
function dockerignoreRules() {
  const file = path.join(facts.root, '.dockerignore');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const negated = line.startsWith('!');
        const pattern = path.posix.normalize(line.replace(/^!/, '')).replace(/^\/+|\/+$/g, '');
        let source = '';
        for (let i = 0; i < pattern.length; i++) {
          if (pattern.startsWith('**/', i)) {
            source += '(?:.*/)?';
            i += 2;
          } else if (pattern.startsWith('**', i)) {
            source += '.*';
            i += 1;
          } else if (pattern[i] === '*') {
            source += '[^/]*';
          } else if (pattern[i] === '?') {
            source += '[^/]';
          } else {
            source += pattern[i].replace(/[.+^${}()|\\]/g, '\\$&');
          }
        }
        return {line, negated, regex: new RegExp(`^${source}$`)};
      });
}

function ignoredBy(rules, relative) {
  const parts = relative.split('/');
  const prefixes = parts.map((part, i) => parts.slice(0, i + 1).join('/'));
  let rule = null;
  for (const candidate of rules) {
    if (prefixes.some((prefix) => candidate.regex.test(prefix))) rule = candidate;
  }
  return rule && !rule.negated ? rule.line : null;
}

// --- Dockerfile instructions -----------------------------------------------------------------

// COPY/ADD arguments: {from, sources, destination}; flags (--chown, --from, ...) removed.
function copyArguments(instruction) {
  let words;
  if (instruction.args.startsWith('[')) {
    words = JSON.parse(instruction.args);
  } else {
    words = instruction.args.split(/\s+/);
  }
  const from = (words.find((w) => w.startsWith('--from=')) || '').slice('--from='.length) || null;
  const paths = words.filter((w) => !w.startsWith('--'));
  return {from, sources: paths.slice(0, -1), destination: paths[paths.length - 1]};
}

// ENV instructions of a stage as {NAME: value} (both `ENV A=1 B=2` and `ENV A 1`).
function environment(stage) {
  const variables = {};
  for (const {args} of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (/^\w+=/.test(args)) {
      for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
        variables[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
      }
    } else {
      const [name, ...value] = args.split(/\s+/);
      variables[name] = value.join(' ');
    }
  }
  return variables;
}

function runs(stage) {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

function checkDockerfile() {
  const stages = facts.dockerfileStages();
  const final = stages[stages.length - 1];
  const builderName = final.instructions.filter((i) => i.keyword === 'COPY')
                          .map(copyArguments)
                          .map((c) => c.from)
                          .find((from) => from);
  const builder = stages.find((s) => s.name === builderName);
  if (!checks.expect(
          stages.length >= 2 && builder,
          'expected a multi-stage build whose final stage copies from a builder')) {
    return;
  }
  for (const stage of stages) {
    checks.expect(
        /^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/.test(stage.base),
        `stage ${stage.name} is based on ${stage.base}, not debian:bookworm`);
    for (const command of runs(stage)) {
      checks.expect(
          !/\b(apt-get|apt|aptitude)\b[^&|;]*\binstall\b|\bdpkg\s+(-i|--install)\b/.test(command),
          `stage ${stage.name} installs packages itself (${command.slice(0, 60)}…); ` +
              'add them to scripts/debian-packages.txt and let scripts/bootstrap install them');
    }
  }

  // Packages come from the one list, through bootstrap, with the right tags.
  const bootstrapTags = (stage) =>
      runs(stage)
          .flatMap((c) => [...c.matchAll(/(?:^|[\s/])bootstrap(?=\s|$)((?:\s+[a-z]+)*)/g)])
          .map((m) => m[1].trim());
  checks.expect(
      bootstrapTags(builder).includes('build'),
      'the builder stage does not run `scripts/bootstrap build`');
  checks.expect(
      bootstrapTags(final).length === 1 && bootstrapTags(final)[0] === 'runtime',
      `the runtime stage must run exactly \`scripts/bootstrap runtime\`, runs ` +
          `${JSON.stringify(bootstrapTags(final))}`);
  const packages = facts.debianPackages();
  checks.expect(
      [...packages.values()].some((tags) => tags.has('runtime')),
      'scripts/debian-packages.txt tags no package `runtime`');

  // Every path copied from the context exists and is not ignored.
  const rules = dockerignoreRules();
  for (const stage of stages) {
    const copied = stage.instructions.filter((i) => ['COPY', 'ADD'].includes(i.keyword))
                       .map(copyArguments)
                       .filter((c) => !c.from)
                       .flatMap((c) => c.sources);
    for (const source of copied) {
      const relative = path.posix.normalize(source).replace(/\/+$/, '');
      checks.expect(
          fs.existsSync(path.join(facts.root, relative)),
          `stage ${stage.name} copies ${source}, which does not exist in the repository`);
      const rule = ignoredBy(rules, relative);
      checks.expect(
          !rule,
          `stage ${stage.name} copies ${source}, which .dockerignore excludes ` +
              `(${rule})`);
    }
    if (stage === builder || stage === final) {
      for (const needed of ['scripts/bootstrap', 'scripts/debian-packages.txt']) {
        checks.expect(copied.includes(needed), `stage ${stage.name} does not copy ${needed}`);
      }
    }
  }

  // The builder has everything CMake configures, and builds the release preset.
  const builderCopies = builder.instructions.filter((i) => i.keyword === 'COPY')
                            .map(copyArguments)
                            .flatMap((c) => c.sources)
                            .map((s) => s.replace(/\/+$/, ''));
  // The image builds without tests (ROLLCALL_BUILD_TESTS=OFF), so tests/ need not be copied and
  // GoogleTest must not be a `build` package.
  const build = runs(builder).join(' ');
  const testsOff = /cmake --preset release\b[^&;]*-DROLLCALL_BUILD_TESTS=OFF\b/.test(build);
  checks.expect(
      testsOff, 'the builder does not configure with -DROLLCALL_BUILD_TESTS=OFF');
  const subdirectories =
      [...facts.read('CMakeLists.txt').matchAll(/add_subdirectory\((\w+)\)/g)].map((m) => m[1]);
  for (const needed of ['CMakeLists.txt', 'CMakePresets.json', ...subdirectories]) {
    if (needed === 'tests' && testsOff) continue;
    checks.expect(
        builderCopies.includes(needed),
        `the builder does not copy ${needed}, which the CMake build needs`);
  }
  for (const [name, tags] of facts.debianPackages()) {
    checks.expect(
        !(/gtest|gmock|googletest/.test(name) && tags.has('build')),
        `${name} is tagged build, but the image builds without tests: tag it test only`);
  }
  checks.expect(
      /cmake --preset release\b/.test(build) &&
          /cmake --build --preset release\b.*--target rollcalld rollcall\b/.test(build),
      'the builder does not configure and build rollcalld and rollcall with the release ' +
          'preset');

  // The runtime stage: only the two binaries, non-root, store on a volume, no arguments.
  const finalCopies = final.instructions.filter((i) => i.keyword === 'COPY').map(copyArguments);
  const binaries = finalCopies.filter((c) => c.from).flatMap((c) => c.sources);
  checks.expect(
      binaries.length === 2 && binaries.some((s) => s.endsWith('/service/rollcalld')) &&
          binaries.some((s) => s.endsWith('/cli/rollcall')),
      `the runtime stage copies ${JSON.stringify(binaries)} from the builder, ` +
          'expected only service/rollcalld and cli/rollcall');
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  const uid = facts.imageUid();
  checks.expect(
      users.length > 0 && Number.isInteger(uid) && uid !== 0,
      `the runtime stage must end with a numeric non-root USER, has ${uid}`);
  checks.expect(
      runs(final).some((c) => new RegExp(`useradd\\b.*--uid ${uid}\\b`).test(c)),
      `the runtime stage creates no user with uid ${uid}`);
  const volumes =
      final.instructions.filter((i) => i.keyword === 'VOLUME')
          .flatMap((i) => (i.args.startsWith('[') ? JSON.parse(i.args) : i.args.split(/\s+/)));
  checks.expect(volumes.includes('/data'), 'the runtime stage has no VOLUME /data');
  checks.expect(
      runs(final).some((c) => new RegExp(`chown ${uid}(:\\d+)? /data\\b`).test(c)),
      `/data is not owned by uid ${uid}`);
  const entrypoints = final.instructions.filter((i) => i.keyword === 'ENTRYPOINT');
  checks.expect(
      entrypoints.length === 1 &&
          entrypoints[0].args.replace(/\s/g, '') === '["/usr/local/bin/rollcalld"]',
      'the ENTRYPOINT must be exec-form ["/usr/local/bin/rollcalld"]');
  checks.expect(
      !final.instructions.some((i) => i.keyword === 'CMD'),
      'the runtime stage has a CMD: arguments win over ROLLCALL_* variables, so they ' +
          'would override a Kubernetes ConfigMap; set defaults with ENV');

  const variables = environment(final);
  const flags = facts.environmentFlags();
  for (const variable of Object.keys(variables).filter((v) => v.startsWith('ROLLCALL_'))) {
    const flag = facts.flagOfVariable(variable);
    checks.expect(
        flags.has(flag),
        `ENV ${variable}: rollcalld has no flag --${flag} read from ` +
            'the environment');
  }
  const exposed = final.instructions.filter((i) => i.keyword === 'EXPOSE')
                      .flatMap((i) => i.args.split(/\s+/))
                      .map((p) => Number(p.split('/')[0]));
  const listen = variables.ROLLCALL_LISTEN || '';
  const listenPort = Number(listen.slice(listen.lastIndexOf(':') + 1));
  checks.expect(
      /^(0\.0\.0\.0|\[::\]):\d+$/.test(listen),
      `ENV ROLLCALL_LISTEN is "${listen}": a container must listen on 0.0.0.0`);
  checks.expect(
      exposed.includes(listenPort), `EXPOSE ${exposed} lacks the gRPC port ${listenPort}`);
  const metricsPort = Number(variables.ROLLCALL_METRICS_PORT);
  checks.expect(
      metricsPort > 0 && exposed.includes(metricsPort),
      `EXPOSE ${exposed} lacks ROLLCALL_METRICS_PORT (${variables.ROLLCALL_METRICS_PORT})`);
  checks.expect(
      variables.ROLLCALL_DATA_DIR === '/data',
      `ENV ROLLCALL_DATA_DIR is ${variables.ROLLCALL_DATA_DIR}, the volume is /data`);
}

// --- Shared libraries ------------------------------------------------------------------------

// ldd's resolved paths of a binary; throws on a library ldd cannot find.
function sharedLibraries(binary) {
  const output = execFileSync('ldd', [binary], {encoding: 'utf8'});
  const libraries = [];
  for (const line of output.split('\n')) {
    if (/=>\s*not found/.test(line)) throw new Error(`${binary}: ${line.trim()}`);
    const m = /=>\s*(\/\S+)/.exec(line) || /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libraries.push(m[1]);
  }
  return libraries;
}

// Map(path -> package) from one `dpkg -S` over every spelling of each path (usrmerge: dpkg may
// know /lib/x.so as /usr/lib/x.so or the reverse, or only the symlink's target).
function owningPackages(libraries) {
  const spellings = (file) => {
    const real = fs.realpathSync(file);
    return [...new Set(
        [file, real].flatMap((p) => [p, p.startsWith('/usr/') ? p.slice(4) : `/usr${p}`]))];
  };
  const candidates = [...new Set(libraries.flatMap(spellings))];
  const result = spawnSync('dpkg', ['-S', ...candidates], {encoding: 'utf8'});
  const owner = new Map();
  for (const line of result.stdout.split('\n')) {
    const m = /^([^:]+(?::[\w-]+)?(?:, [^:]+(?::[\w-]+)?)*): (\/\S+)$/.exec(line);
    if (m) owner.set(m[2], m[1].split(', ')[0].replace(/:[\w-]+$/, ''));
  }
  return new Map(
      libraries.map((file) => [file, spellings(file).map((p) => owner.get(p)).find((p) => p)]));
}

function installedSharedLibraries(pkg) {
  const result = spawnSync('dpkg', ['-L', pkg], {encoding: 'utf8'});
  if (result.status !== 0) return null;
  return result.stdout.split('\n').filter((f) => /\/lib[^/]*\.so(\.\d+)*$/.test(f));
}

function checkLibraries(binaries) {
  const packages = facts.debianPackages();
  const runtime = [...packages].filter(([, tags]) => tags.has('runtime')).map(([name]) => name);
  const used = new Set();
  for (const binary of binaries) {
    if (!checks.expect(fs.existsSync(binary), `${binary} does not exist: build it first`)) continue;
    let libraries;
    try {
      libraries = sharedLibraries(binary);
    } catch (error) {
      checks.expect(false, error.message);
      continue;
    }
    for (const [library, pkg] of owningPackages(libraries)) {
      if (!checks.expect(
              pkg,
              `${path.basename(binary)} loads ${library}, which no Debian package ` +
                  'owns: the runtime stage cannot install it')) {
        continue;
      }
      used.add(pkg);
      checks.expect(
          kBaseImagePackages.has(pkg) || runtime.includes(pkg),
          `${path.basename(binary)} loads ${library} from ${pkg}, which ` +
              `scripts/debian-packages.txt does not tag runtime: add "${pkg} runtime"`);
    }
  }
  for (const pkg of runtime) {
    const libraries = installedSharedLibraries(pkg);
    if (libraries !== null && libraries.length === 0) continue;  // not a library package
    checks.expect(
        used.has(pkg),
        `${pkg} is tagged runtime but ${
            libraries === null ?
                'is not installed here' :
                'ships no library'} the binaries load: drop it or say why it is needed`);
  }
  console.log(
      `deploy_dockerfile: ${binaries.length} binaries load libraries from ` +
      `${[...used].sort().join(' ')}`);
}

checkDockerfile();
const binaries = process.argv.slice(2);
if (binaries.length > 0) {
  checkLibraries(binaries);
} else {
  console.log('deploy_dockerfile: no binaries given, shared-library check skipped');
}
checks.report();
