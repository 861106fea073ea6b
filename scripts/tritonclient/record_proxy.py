"""A recording proxy: forwards every request to a server and prints each
exchange as one JSON line (method, path, the request's headers that
matter, its body in base64, the status, the response's headers and body
in base64). Used to record what tritonclient sends:

  /usr/bin/python3 record_proxy.py 8079 127.0.0.1:8077 > exchanges.jsonl &
  PYTHONPATH=... /usr/bin/python3 oip_probe.py 127.0.0.1:8079 california
"""
import base64
import http.client
import http.server
import json
import sys

port, upstream = int(sys.argv[1]), sys.argv[2]
KEEP = ("content-type", "inference-header-content-length", "content-encoding")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        c = http.client.HTTPConnection(upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body or None, headers=headers)
        r = c.getresponse()
        rbody = r.read()
        print(json.dumps({
            "method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items() if k.lower() in KEEP},
            "body": base64.b64encode(body).decode(),
            "status": r.status,
            "response_headers": {k.lower(): v for k, v in r.getheaders() if k.lower() in KEEP},
            "response": base64.b64encode(rbody).decode(),
        }), flush=True)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        self.wfile.write(rbody)

    do_GET = do_POST = handle_one

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
