// deploy_manifests: renders deploy/kubernetes with `kubectl kustomize`, validates every object
// offline against the Kubernetes OpenAPI schemas (npm kubernetes-models), rejects fields those
// schemas do not define (what `kubectl apply --validate=strict` would refuse), and checks the
// invariants that tie the manifests to rollcalld and to the image. Exits 1 on any failure.
// Usage: node tests/deploy/manifests_test.js [KUSTOMIZE_DIR]   (default deploy/kubernetes)
'use strict';

const {execFileSync} = require('child_process');
const fs = require('fs');
const path = require('path');
const facts = require('./repo_facts');

let YAML;
try {
  YAML = require('yaml');
  require.resolve('kubernetes-models');
} catch (error) {
  console.error('deploy_manifests: npm packages missing; run scripts/bootstrap test');
  process.exit(1);
}

// Seconds the pod may need beyond preStop + --shutdown_grace: the store flush and exit.
const kMinFlushMarginSeconds = 5;
// A store restore may take this long before the startup probe gives up.
const kMinStartupSeconds = 300;

const checks = new facts.Checks('deploy_manifests');

function render(directory) {
  try {
    return execFileSync('kubectl', ['kustomize', directory], {encoding: 'utf8'});
  } catch (error) {
    console.error(
        `deploy_manifests: kubectl kustomize ${directory} failed ` +
        '(kubectl comes from scripts/bootstrap test):');
    console.error(error.stderr || error.message);
    process.exit(1);
  }
}

// --- Schemas -------------------------------------------------------------------------------

function modelClass(object) {
  try {
    return require(`kubernetes-models/${object.apiVersion}`)[object.kind];
  } catch (error) {
    return undefined;
  }
}

// Field names per schema type, read from kubernetes-models' TypeScript declarations (the
// compiled validators allow unknown fields, as the OpenAPI schemas do). Keyed by the exported
// alias, e.g. IIoK8sApiCoreV1Probe -> Map(field -> alias of its type, or null if opaque).
function loadFieldIndex() {
  const index = new Map();
  const packageDirs = [
    path.dirname(require.resolve('kubernetes-models')),
    path.dirname(require.resolve(
        '@kubernetes-models/apimachinery', {paths: [require.resolve('kubernetes-models')]})),
  ];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(full);
      if (entry.isFile() && entry.name.endsWith('.d.ts')) indexDeclarations(full, index);
    }
  };
  packageDirs.forEach(walk);
  return index;
}

function indexDeclarations(file, index) {
  const text = fs.readFileSync(file, 'utf8');
  const exported = /export \{ (I\w+) as (I\w+)/.exec(text);
  const local = exported ? exported[1] : null;
  const declaration = `export interface ${local}(?: extends \\w+)? \\{\\n([\\s\\S]*?)\\n\\}`;
  const body = local && new RegExp(declaration).exec(text);
  if (!body) return;
  const fields = new Map();
  for (const m of body[1].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
    const type = /^(?:Array<)?(IIoK8s\w+)/.exec(m[2]);
    fields.set(m[1], type ? type[1] : null);
  }
  index.set(exported[2], fields);
}

function unknownFields(value, typeAlias, where, index, found) {
  const fields = index.get(typeAlias);
  if (!fields || value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownFields(item, typeAlias, `${where}[${i}]`, index, found));
    return found;
  }
  for (const [key, child] of Object.entries(value)) {
    if (!fields.has(key)) {
      found.push(`${where}.${key}`);
    } else if (fields.get(key)) {
      unknownFields(child, fields.get(key), `${where}.${key}`, index, found);
    }
  }
  return found;
}

function topLevelAlias(object, index) {
  const group = object.apiVersion.includes('/') ? object.apiVersion : `core/${object.apiVersion}`;
  const [name, version] = group.split('/');
  const prefix = name.split('.')[0].replace(/^./, (c) => c.toUpperCase());
  const alias = `IIoK8sApi${prefix}${version.replace(/^./, (c) => c.toUpperCase())}${object.kind}`;
  return index.has(alias) ? alias : null;
}

function validateSchemas(objects) {
  const index = loadFieldIndex();
  for (const object of objects) {
    const name = `${object.kind}/${object.metadata && object.metadata.name}`;
    const Model = modelClass(object);
    if (!checks.expect(Model, `${name}: no schema for apiVersion ${object.apiVersion}`)) continue;
    try {
      new Model(object).validate();
      checks.expect(true);
    } catch (error) {
      checks.expect(false, `${name}: schema: ${error.message}`);
    }
    const alias = topLevelAlias(object, index);
    if (!checks.expect(alias, `${name}: no field list for ${object.apiVersion} ${object.kind}`)) {
      continue;
    }
    const unknown = unknownFields(object, alias, name, index, []);
    checks.expect(
        unknown.length === 0, `unknown fields (not in the schema): ${unknown.join(', ')}`);
  }
}

// --- Invariants ----------------------------------------------------------------------------

// absl duration text ("20s", "1m30s", "1.5h") to seconds; NaN if malformed.
function durationSeconds(text) {
  const units = {ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600};
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== String(text)) return NaN;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

function listenHostPort(address) {
  const colon = String(address).lastIndexOf(':');
  return {host: address.slice(0, colon), port: Number(address.slice(colon + 1))};
}

function containsLabels(labels, selector) {
  return Object.entries(selector || {}).every(([key, value]) => (labels || {})[key] === value);
}

function preStopSeconds(lifecycle) {
  const hook = lifecycle && lifecycle.preStop;
  if (!hook) return 0;
  if (hook.sleep) return Number(hook.sleep.seconds);
  const command = (hook.exec && hook.exec.command) || [];
  const sleep = command.findIndex((word) => /(^|\/)sleep$/.test(word));
  return sleep >= 0 ? Number(command[sleep + 1]) : NaN;
}

function checkInvariants(objects) {
  const ofKind = (kind) => objects.filter((o) => o.kind === kind);
  const sets = ofKind('StatefulSet');
  if (!checks.expect(sets.length === 1, `expected one StatefulSet, found ${sets.length}`)) return;
  const set = sets[0];
  const pod = set.spec.template;
  const podSpec = pod.spec;
  const container = podSpec.containers.find((c) => c.name === 'rollcalld') || podSpec.containers[0];
  const podLabels = pod.metadata.labels || {};

  checks.expect(
      set.spec.replicas === 1,
      `StatefulSet replicas is ${set.spec.replicas}: rollcall is a single writer with an ` +
          'embedded store; more replicas would be independent stores');
  checks.expect(
      containsLabels(podLabels, set.spec.selector.matchLabels),
      'StatefulSet selector does not match its pod template labels');

  // Configuration: a ConfigMap consumed whole through envFrom, every key a real flag.
  const configNames = (container.envFrom || []).map((e) => e.configMapRef && e.configMapRef.name);
  const configMap = ofKind('ConfigMap').find((c) => configNames.includes(c.metadata.name));
  if (!checks.expect(configMap, 'the container takes no ConfigMap through envFrom')) return;
  const config = configMap.data || {};
  const flags = facts.environmentFlags();
  for (const variable of Object.keys(config)) {
    const flag = facts.flagOfVariable(variable);
    checks.expect(
        flag && flags.has(flag),
        `ConfigMap ${variable}: rollcalld has no flag --${flag} read from the ` +
            'environment (service/main.cc: ABSL_FLAG and the kFlags table)');
  }
  for (const variable
           of ['ROLLCALL_LISTEN', 'ROLLCALL_METRICS_PORT', 'ROLLCALL_DATA_DIR',
               'ROLLCALL_SHUTDOWN_GRACE']) {
    checks.expect(config[variable] !== undefined, `ConfigMap does not set ${variable}`);
  }
  const listen = listenHostPort(config.ROLLCALL_LISTEN || '');
  const metricsPort = Number(config.ROLLCALL_METRICS_PORT);
  checks.expect(
      ['0.0.0.0', '[::]', ''].includes(listen.host),
      `ROLLCALL_LISTEN host is ${listen.host}: probes and Services reach the pod IP, ` +
          'so it must listen on every interface');
  checks.expect(
      Number.isInteger(listen.port) && listen.port > 0,
      `ROLLCALL_LISTEN has no fixed port: ${config.ROLLCALL_LISTEN}`);
  checks.expect(
      Number.isInteger(metricsPort) && metricsPort > 0,
      `ROLLCALL_METRICS_PORT must be a port (metrics are scraped): ${metricsPort}`);

  // Ports: container ports named grpc and metrics carry the configured ports.
  const containerPorts = new Map((container.ports || []).map((p) => [p.name, p.containerPort]));
  checks.expect(
      containerPorts.get('grpc') === listen.port,
      `container port grpc is ${containerPorts.get('grpc')}, ROLLCALL_LISTEN port is ` +
          `${listen.port}`);
  checks.expect(
      containerPorts.get('metrics') === metricsPort,
      `container port metrics is ${containerPorts.get('metrics')}, ` +
          `ROLLCALL_METRICS_PORT is ${metricsPort}`);

  // Probes: native gRPC on the server's health names, on the gRPC port.
  const health = facts.healthNames();
  const probes = [
    ['startupProbe', health.liveness], ['livenessProbe', health.liveness],
    ['readinessProbe', health.readiness]
  ];
  for (const [probeName, service] of probes) {
    const grpc = (container[probeName] || {}).grpc;
    if (!checks.expect(grpc, `${probeName} is not a gRPC probe`)) continue;
    checks.expect(
        grpc.service === service,
        `${probeName} asks for health service "${grpc.service}", the server ` +
            `registers "${service}" (service/server.*)`);
    checks.expect(
        grpc.port === listen.port,
        `${probeName} port ${grpc.port} is not the gRPC port ${listen.port}`);
  }
  const startup = container.startupProbe || {};
  const startupSeconds = (startup.periodSeconds || 10) * (startup.failureThreshold || 3);
  checks.expect(
      startupSeconds >= kMinStartupSeconds,
      `startupProbe allows ${startupSeconds}s, less than ${kMinStartupSeconds}s for ` +
          'opening a large store');

  // Shutdown: the grace period covers preStop, the server's drain, and the flush.
  const grace = podSpec.terminationGracePeriodSeconds;
  const preStop = preStopSeconds(container.lifecycle);
  const drain = durationSeconds(config.ROLLCALL_SHUTDOWN_GRACE);
  checks.expect(preStop > 0, 'no preStop sleep: calls would arrive after SIGTERM');
  checks.expect(
      Number.isFinite(drain),
      `ROLLCALL_SHUTDOWN_GRACE is not a duration: ` +
          `${config.ROLLCALL_SHUTDOWN_GRACE}`);
  checks.expect(
      grace >= preStop + drain + kMinFlushMarginSeconds,
      `terminationGracePeriodSeconds ${grace} is less than preStop ${preStop}s + ` +
          `shutdown_grace ${drain}s + ${kMinFlushMarginSeconds}s for the store flush`);

  // Security: non-root as the image's uid, no privilege, read-only root.
  const uid = facts.imageUid();
  const podSecurity = podSpec.securityContext || {};
  const security = container.securityContext || {};
  const effective = (field) =>
      (security[field] !== undefined ? security[field] : podSecurity[field]);
  checks.expect(podSecurity.runAsNonRoot === true, 'pod securityContext.runAsNonRoot is not true');
  checks.expect(effective('runAsNonRoot') === true, 'container runAsNonRoot is not true');
  checks.expect(
      effective('runAsUser') === uid,
      `runAsUser ${effective('runAsUser')} is not the image's uid ${uid} ` +
          '(deploy/docker/Dockerfile USER)');
  checks.expect(
      podSecurity.fsGroup === uid,
      `fsGroup ${podSecurity.fsGroup} is not the image's ` +
          `uid ${uid}: the volume would not be writable`);
  checks.expect(
      security.allowPrivilegeEscalation === false, 'allowPrivilegeEscalation is not false');
  checks.expect(security.readOnlyRootFilesystem === true, 'readOnlyRootFilesystem is not true');
  checks.expect(
      ((security.capabilities || {}).drop || []).includes('ALL'), 'capabilities do not drop ALL');
  checks.expect(
      (podSecurity.seccompProfile || {}).type === 'RuntimeDefault',
      'pod seccompProfile is not RuntimeDefault');
  checks.expect(
      (effective('seccompProfile') || {}).type === 'RuntimeDefault',
      'container seccompProfile is not RuntimeDefault');
  for (const kind of ['requests', 'limits']) {
    const resources = (container.resources || {})[kind] || {};
    checks.expect(resources.cpu && resources.memory, `resources.${kind} lacks cpu or memory`);
  }

  // Storage: the claim template is mounted where the server keeps its store.
  const claims = new Set((set.spec.volumeClaimTemplates || []).map((t) => t.metadata.name));
  const dataMounts = (container.volumeMounts || []).filter((m) => claims.has(m.name));
  checks.expect(
      dataMounts.length === 1 && dataMounts[0].mountPath === config.ROLLCALL_DATA_DIR,
      `the PersistentVolumeClaim is mounted at ` +
          `${dataMounts.map((m) => m.mountPath).join(', ') || 'nothing'}, ` +
          `ROLLCALL_DATA_DIR is ${config.ROLLCALL_DATA_DIR}`);

  // Credentials: --credentials_file names a file of a Secret volume mounted read-only, as a
  // whole directory (a subPath mount never sees the Secret change, so keys would not reload).
  const credentialsFile = config.ROLLCALL_CREDENTIALS_FILE;
  checks.expect(
      credentialsFile,
      'ConfigMap does not set ROLLCALL_CREDENTIALS_FILE: rollcalld refuses to listen on ' +
          `${listen.host} without credentials`);
  checks.expect(
      config.ROLLCALL_ALLOW_INSECURE_NO_AUTH === undefined ||
          config.ROLLCALL_ALLOW_INSECURE_NO_AUTH === 'false',
      'ConfigMap sets ROLLCALL_ALLOW_INSECURE_NO_AUTH: authentication off on a pod address');
  const secretVolumes =
      new Map((podSpec.volumes || []).filter((v) => v.secret).map((v) => [v.name, v.secret]));
  const directory = (mountPath) => String(mountPath).replace(/\/+$/, '');
  const credentialsMount = (container.volumeMounts || []).find(
      (m) => secretVolumes.has(m.name) && credentialsFile &&
          String(credentialsFile).startsWith(`${directory(m.mountPath)}/`));
  if (checks.expect(
          credentialsMount,
          `ROLLCALL_CREDENTIALS_FILE ${credentialsFile} is not inside a mounted Secret volume`)) {
    const secret = secretVolumes.get(credentialsMount.name);
    const file = credentialsFile.slice(directory(credentialsMount.mountPath).length + 1);
    checks.expect(
        credentialsMount.readOnly === true,
        `the credentials Secret volume ${credentialsMount.name} is not mounted readOnly`);
    checks.expect(
        !credentialsMount.subPath && !credentialsMount.subPathExpr,
        `the credentials volume is mounted with a subPath: Secret updates would never reach ` +
            'the pod, so credentials would not reload');
    checks.expect(
        secret.optional !== true,
        `the credentials Secret ${secret.secretName} is optional: the pod would start without it`);
    checks.expect(
        (secret.items || []).some((item) => item.path === file),
        `the credentials Secret volume does not project a key to ${file}, the file ` +
            'ROLLCALL_CREDENTIALS_FILE names');
    checks.expect(
        ofKind('Secret').every((s) => s.metadata.name !== secret.secretName),
        `the base defines Secret ${secret.secretName}: applying it would overwrite the real ` +
            'credentials with placeholders');
  }

  // Metrics scraping.
  const annotations = pod.metadata.annotations || {};
  checks.expect(
      annotations['prometheus.io/scrape'] === 'true',
      'pod annotation prometheus.io/scrape is not "true"');
  checks.expect(
      annotations['prometheus.io/port'] === String(metricsPort),
      `pod annotation prometheus.io/port is ${annotations['prometheus.io/port']}, ` +
          `ROLLCALL_METRICS_PORT is ${metricsPort}`);
  checks.expect(
      annotations['prometheus.io/path'] === '/metrics',
      'pod annotation prometheus.io/path is not /metrics');

  // Services: both select the pod and reach the configured ports.
  const services = ofKind('Service');
  const headless = services.find((s) => s.spec.clusterIP === 'None');
  checks.expect(headless, 'no headless Service (clusterIP: None) for client-side balancing');
  checks.expect(
      headless && set.spec.serviceName === headless.metadata.name,
      `StatefulSet serviceName ${set.spec.serviceName} is not the headless Service`);
  checks.expect(
      services.some(
          (s) => s.spec.clusterIP !== 'None' && (s.spec.type || 'ClusterIP') === 'ClusterIP'),
      'no ClusterIP Service');
  const expected = {grpc: listen.port, metrics: metricsPort};
  for (const service of services) {
    const name = `Service/${service.metadata.name}`;
    checks.expect(
        containsLabels(podLabels, service.spec.selector) &&
            Object.keys(service.spec.selector || {}).length > 0,
        `${name} selector does not select the rollcall pod`);
    for (const [portName, port] of Object.entries(expected)) {
      const servicePort = (service.spec.ports || []).find((p) => p.name === portName);
      if (!checks.expect(servicePort, `${name} has no port named ${portName}`)) continue;
      const target =
          servicePort.targetPort === undefined ? servicePort.port : servicePort.targetPort;
      const resolved = typeof target === 'string' ? containerPorts.get(target) : target;
      checks.expect(
          resolved === port,
          `${name} port ${portName} targets ${target} (${resolved}), the server ` +
              `listens on ${port}`);
    }
  }

  // Disruption budget: covers the pod, and lets a node drain proceed.
  const budgets = ofKind('PodDisruptionBudget');
  if (!checks.expect(
          budgets.length === 1, `expected one PodDisruptionBudget, found ${budgets.length}`)) {
    return;
  }
  const budget = budgets[0].spec;
  checks.expect(
      containsLabels(podLabels, (budget.selector || {}).matchLabels) &&
          Object.keys((budget.selector || {}).matchLabels || {}).length > 0,
      'PodDisruptionBudget selector does not match the pod labels');
  checks.expect(
      budget.maxUnavailable !== undefined ||
          (budget.minAvailable !== undefined && budget.minAvailable < set.spec.replicas),
      'PodDisruptionBudget allows no disruption: node drains would hang');
}

function main() {
  const directory = path.resolve(facts.root, process.argv[2] || 'deploy/kubernetes');
  const documents = YAML.parseAllDocuments(render(directory));
  const objects = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      checks.expect(false, `rendered YAML: ${document.errors[0].message}`);
    } else if (document.contents !== null) {
      objects.push(document.toJS());
    }
  }
  validateSchemas(objects);
  checkInvariants(objects);
  console.log(
      `deploy_manifests: ${objects.length} objects: ` +
      objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', '));
  checks.report();
}

main();
