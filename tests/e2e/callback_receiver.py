"""A status-callback receiver that checks every request with Twilio's own validator
(Debian's python3-twilio: twilio.request_validator.RequestValidator), as a customer's would.

Usage: callback_receiver.py PORT_FILE LOG_FILE [--fail-first N]

Serves HTTP on 127.0.0.1, port 0; writes the port to PORT_FILE (atomically, once listening).
The auth token comes from TWILIO_AUTH_TOKEN. Appends one JSON line per request to LOG_FILE,
before answering: method, path (with the query), host (the Host header), params (the POST
form or the GET query, one value per name), body (raw), signature (X-Twilio-Signature) and
valid (the validator's verdict for the URL http://<Host><path>). Answers 200, or 500 for the
first N requests with --fail-first.

Run by tests/e2e/callbacks_test.cc; tests/e2e/callback_receiver.js is its Node twin.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    port_file, log_file = args[0], args[1]
    options = {"--fail-first": 0}
    rest = args[2:]
    while rest:
        name = rest.pop(0)
        if name not in options or not rest:
            sys.exit(f"unknown or incomplete option {name}\n{__doc__}")
        options[name] = int(rest.pop(0))

    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    lock = threading.Lock()
    state = {"requests": 0}
    log = open(log_file, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: without this each answer on a kept-alive connection
        # would wait for the delayed ACK (Nagle).
        disable_nagle_algorithm = True

        def log_message(self, *unused):  # no access log on stderr
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"
            url = f"http://{host}{self.path}"
            signature = self.headers.get("X-Twilio-Signature", "")
            if self.command == "POST":
                params = dict(parse_qsl(body, keep_blank_values=True))
                valid = validator.validate(url, params, signature)
            else:
                # GET: the parameters are in the URL, which is signed whole.
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                valid = validator.validate(url, {}, signature)
            record = {
                "method": self.command,
                "path": self.path,
                "host": host,
                "params": params,
                "body": body,
                "signature": signature,
                "content_type": self.headers.get("Content-Type", ""),
                "valid": bool(valid),
                "received_at": time.time(),
            }
            with lock:
                state["requests"] += 1
                failing = state["requests"] <= options["--fail-first"]
                log.write(json.dumps(record, sort_keys=True) + "\n")
                log.flush()
            answer = b"failing on purpose\n" if failing else b"ok\n"
            self.send_response(500 if failing else 200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = handle_any
        do_POST = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(port_file + ".tmp", "w", encoding="utf-8") as out:
        out.write(str(server.server_port))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
