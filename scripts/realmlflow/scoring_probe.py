"""Probe a real MLflow scoring server (`mlflow models serve`) with the
/invocations cases of pkg/serve/testdata/mlflow-scoring.jsonl and print
what it answered, one JSON line a case.

The model: scripts/realmlflow/scoring_model.py (a signed sklearn
LinearRegression over the eight California Housing features).

usage: /usr/bin/python3 scoring_probe.py URL < cases.jsonl > answers.jsonl
"""
import http.client
import json
import sys
import urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
for line in sys.stdin:
    case = json.loads(line)
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {}
    if case.get("content_type") is not None:
        headers["Content-Type"] = case["content_type"]
    c.request("POST", "/invocations", body=case["body"].encode(), headers=headers)
    r = c.getresponse()
    body = r.read().decode()
    out = {"name": case["name"], "content_type": case.get("content_type"), "body": case["body"],
           "status": r.status, "response_type": r.getheader("Content-Type")}
    try:
        out["response"] = json.loads(body)
        out.get("response", {}).pop("stack_trace", None) if isinstance(out["response"], dict) else None
    except ValueError:
        out["response_text"] = body
    print(json.dumps(out, ensure_ascii=False))
    c.close()
