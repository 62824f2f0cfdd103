// A status-callback receiver that checks every request with Twilio's own validator (npm
// `twilio`, pinned by package-lock.json: twilio.validateRequest), as a customer's would.
//
// Usage: node callback_receiver.js PORT_FILE LOG_FILE [--fail-first N]
//
// The twin of tests/e2e/callback_receiver.py, with the same log format: serves HTTP on
// 127.0.0.1, port 0; writes the port to PORT_FILE (atomically, once listening); takes the auth
// token from TWILIO_AUTH_TOKEN; appends one JSON line per request to LOG_FILE before answering
// (method, path with the query, host, params, body, signature, content_type, valid,
// received_at). POST is validated with the form's parameters, GET with the full URL and {}.
// Answers 200, or 500 for the first N requests with --fail-first.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const twilio = require("twilio");

function usage(message) {
  process.stderr.write(`${message}\nusage: callback_receiver.js PORT_FILE LOG_FILE ` +
                       "[--fail-first N]\n");
  process.exit(2);
}

const [portFile, logFile, ...rest] = process.argv.slice(2);
if (!portFile || !logFile) usage("missing PORT_FILE or LOG_FILE");
const options = { "--fail-first": 0 };
while (rest.length > 0) {
  const name = rest.shift();
  if (!(name in options) || rest.length === 0) usage(`unknown or incomplete option ${name}`);
  options[name] = Number.parseInt(rest.shift(), 10);
}

const authToken = process.env.TWILIO_AUTH_TOKEN;
if (!authToken) usage("TWILIO_AUTH_TOKEN is not set");
const log = fs.openSync(logFile, "a");
let requests = 0;

// One value per name, as the form or query carries it.
function paramsOf(text) {
  const params = {};
  for (const [name, value] of new URLSearchParams(text)) params[name] = value;
  return params;
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const host = request.headers.host || `127.0.0.1:${server.address().port}`;
    const url = `http://${host}${request.url}`;
    const signature = request.headers["x-twilio-signature"] || "";
    const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?") + 1) : "";
    let params;
    let valid;
    if (request.method === "POST") {
      params = paramsOf(body);
      valid = twilio.validateRequest(authToken, signature, url, params);
    } else {
      // GET: the parameters are in the URL, which is signed whole.
      params = paramsOf(query);
      valid = twilio.validateRequest(authToken, signature, url, {});
    }
    const record = {
      method: request.method,
      path: request.url,
      host,
      params,
      body,
      signature,
      content_type: request.headers["content-type"] || "",
      valid: Boolean(valid),
      received_at: Date.now() / 1000,
    };
    requests += 1;
    const failing = requests <= options["--fail-first"];
    fs.writeSync(log, JSON.stringify(record) + "\n");
    response.writeHead(failing ? 500 : 200, { "Content-Type": "text/plain" });
    response.end(failing ? "failing on purpose\n" : "ok\n");
  });
});

server.listen(0, "127.0.0.1", () => {
  fs.writeFileSync(`${portFile}.tmp`, String(server.address().port));
  fs.renameSync(`${portFile}.tmp`, portFile);
});
