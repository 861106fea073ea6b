"""Call a housectl server with the Open Inference Protocol's reference
client, tritonclient.http (triton-inference-server/client), as its users
call KServe or Triton, and print what the client returned, one JSON line
a call. The answers are recorded in pkg/serve/testdata/tritonclient.jsonl.

tritonclient is run from its sources (src/python/library), with Debian's
python3-numpy, python3-rapidjson and python3-geventhttpclient:

  PYTHONPATH=$CLIENT/src/python/library /usr/bin/python3 oip_probe.py 127.0.0.1:8077 california
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

url, model = sys.argv[1], sys.argv[2]
c = httpclient.InferenceServerClient(url=url)
ROWS = np.array([[8.3252, 41.0, 6.984127, 1.02381, 322.0, 2.555556, 37.88, -122.23],
                 [8.3014, 21.0, 6.238137, 0.97188, 2401.0, 2.109842, 37.86, -122.22]])
FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]


def out(name, **kw):
    print(json.dumps(dict(name=name, **kw)))


def call(name, f):
    try:
        out(name, ok=f())
    except InferenceServerException as e:
        out(name, status=e.status(), error=e.message())


call("is_server_live", c.is_server_live)
call("is_server_ready", c.is_server_ready)
call("server_metadata", lambda: c.get_server_metadata()["extensions"])
call("model_metadata", lambda: c.get_model_metadata(model)["inputs"][0])
call("model_metadata of version 1", lambda: c.get_model_metadata(model, model_version="1")["versions"])
call("is_model_ready", lambda: c.is_model_ready(model))
call("is_model_ready of version 1", lambda: c.is_model_ready(model, model_version="1"))
call("is_model_ready of version 99", lambda: c.is_model_ready(model, model_version="99"))
call("model_metadata of another model", lambda: c.get_model_metadata("nosuch"))


def one_tensor(binary_in, binary_out, dtype="FP64", arr=ROWS):
    i = httpclient.InferInput("x", list(arr.shape), dtype)
    i.set_data_from_numpy(arr, binary_data=binary_in)
    outputs = None if binary_out is None else [httpclient.InferRequestedOutput("prediction", binary_data=binary_out)]
    r = c.infer(model, [i], outputs=outputs)
    return [round(float(v), 6) for v in r.as_numpy("prediction")]


def per_feature(dtype, np_type):
    ins = []
    for j, f in enumerate(FEATURES):
        i = httpclient.InferInput(f, [2], dtype)
        i.set_data_from_numpy(ROWS[:, j].astype(np_type))
        ins.append(i)
    r = c.infer(model, ins, model_version="1")
    return [round(float(v), 4) for v in r.as_numpy("prediction")]


# tritonclient's defaults: binary input, no outputs named (so
# binary_data_output), no Content-Type.
call("infer, the client's defaults", lambda: one_tensor(True, None))
call("infer, JSON in, JSON out", lambda: one_tensor(False, False))
call("infer, JSON in, binary out", lambda: one_tensor(False, True))
call("infer, binary in, JSON out", lambda: one_tensor(True, False))
call("infer, one tensor per feature, FP32", lambda: per_feature("FP32", np.float32))
call("infer, INT64 tensor of whole numbers", lambda: one_tensor(True, None, "INT64", np.rint(ROWS).astype(np.int64)))
call("infer, a tensor of the wrong width", lambda: one_tensor(True, None, "FP64", ROWS[:, :7].copy()))
call("infer, out of range", lambda: one_tensor(False, False, "FP64", ROWS * 1000))
call("infer, another model", lambda: c.infer("nosuch", [httpclient.InferInput("x", [1, 8], "FP64")]))
