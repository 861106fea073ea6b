"""The /invocations cases of pkg/serve/testdata/mlflow-scoring.jsonl, one
JSON line each: name, content_type, body.

usage: /usr/bin/python3 scoring_cases.py | /usr/bin/python3 scoring_probe.py http://127.0.0.1:5055
"""
import json
C=["MedInc","HouseAge","AveRooms","AveBedrms","Population","AveOccup","Latitude","Longitude"]
R=[8.3252,41.0,6.984127,1.02381,322.0,2.555556,37.88,-122.23]
R2=[8.3014,21.0,6.238137,0.97188,2401.0,2.109842,37.86,-122.22]
J="application/json"
rec=dict(zip(C,R))
def split(cols=C,data=[R,R2],**kw): return {"dataframe_split":dict({"columns":cols,"data":data},**kw)}
def csv(cols,rows): return ",".join(cols)+"\n"+"".join(",".join(str(x) for x in r)+"\n" for r in rows)
cases=[
("split", J, split()),
("split with index", J, split(index=[7,9])),
("records", J, {"dataframe_records":[rec,dict(zip(C,R2))]}),
("instances of objects", J, {"instances":[rec]}),
("instances of lists", J, {"instances":[R,R2]}),
("inputs of columns", J, {"inputs":{c:[v] for c,v in zip(C,R)}}),
("inputs of lists", J, {"inputs":[R]}),
("csv", "text/csv", csv(C,[R,R2])),
("csv charset", "text/csv; charset=utf-8", csv(C,[R])),
# 10: extra columns
("split extra column", J, split(C+["extra"],[R+[1.5]])),
("split extra text column", J, split(["ocean"]+C,[["NEAR BAY"]+R])),
("records extra key", J, {"dataframe_records":[dict(rec,extra=1.5)]}),
("instances extra key", J, {"instances":[dict(rec,extra=1.5)]}),
("inputs extra column", J, {"inputs":dict({c:[v] for c,v in zip(C,R)},extra=[1.5])}),
("csv index column", "text/csv", ","+",".join(C)+"\n0,"+",".join(map(str,R))+"\n1,"+",".join(map(str,R2))+"\n"),
("csv extra column", "text/csv", csv(C+["extra"],[R+[1.5]])),
("split reordered", J, split(C[::-1],[R[::-1]])),
# 11: missing, non-numeric, out of range
("split missing column", J, split(C[1:],[R[1:]])),
("split two missing columns", J, split(C[2:],[R[2:]])),
("records missing key", J, {"dataframe_records":[{k:v for k,v in rec.items() if k!="Latitude"}]}),
("instances missing key", J, {"instances":[{k:v for k,v in rec.items() if k!="Latitude"}]}),
("inputs missing column", J, {"inputs":{c:[v] for c,v in zip(C[1:],R[1:])}}),
("csv missing column", "text/csv", csv(C[1:],[R[1:]])),
("split string value", J, split(data=[["abc"]+R[1:]])),
("split numeric string", J, split(data=[["8.3252"]+R[1:]])),
("split null value", J, split(data=[[None]+R[1:]])),
("split bool value", J, split(data=[[True]+R[1:]])),
("records string value", J, {"dataframe_records":[dict(rec,MedInc="abc")]}),
("records null value", J, {"dataframe_records":[dict(rec,MedInc=None)]}),
("csv string value", "text/csv", csv(C,[["abc"]+R[1:]])),
("csv empty value", "text/csv", csv(C,[[""]+R[1:]])),
("instances of short lists", J, {"instances":[R[:7]]}),
("split integer values", J, split(data=[[8,41,7,1,322,3,38,-122]])),
("split out of range", J, split(data=[[1e6]+R[1:]])),
("records out of range", J, {"dataframe_records":[dict(rec,MedInc=-50.0)]}),
# 12: params, unknown keys
("params non-empty", J, dict(split(),params={"alpha":0.5})),
("params empty", J, dict(split(),params={})),
("params null", J, dict(split(),params=None)),
("unknown top-level key", J, dict(split(),model="california")),
("two format keys", J, dict(split(),dataframe_records=[rec])),
("no format key", J, {"rows":[rec]}),
("no format key, params", J, {"params":{"a":1}}),
("empty object", J, {}),
# 13: wording
("top-level list", J, [rec]),
("top-level number", J, 3),
("top-level string", J, "x"),
("invalid JSON", J, None),
("split not an object", J, {"dataframe_split":[R]}),
("records not a list", J, {"dataframe_records":rec}),
("split data missing", J, {"dataframe_split":{"columns":C}}),
("split empty data", J, split(data=[])),
("records empty", J, {"dataframe_records":[]}),
("text/plain", "text/plain", json.dumps(split())),
("no content type", None, json.dumps(split())),
("charset latin-1", "application/json; charset=latin-1", split()),
("unknown parameter", "application/json; format=pandas-split", split()),
("csv malformed", "text/csv", 'MedInc,HouseAge\n"8.3,41\n'),
("csv empty", "text/csv", ""),

("instances string value", J, {"instances":[dict(rec,MedInc="abc")]}),
("instances numeric string", J, {"instances":[dict(rec,MedInc="8.3")]}),
("inputs string value", J, {"inputs":dict({c:[v] for c,v in zip(C,R)},MedInc=["abc"])}),
("inputs null value", J, {"inputs":dict({c:[v] for c,v in zip(C,R)},MedInc=[None])}),
("instances null value", J, {"instances":[dict(rec,MedInc=None)]}),
("split list cell", J, split(data=[[[1,2]]+R[1:]])),
("split dict cell", J, split(data=[[{"a":1}]+R[1:]])),
("split string in second column", J, split(data=[[8.3,"x"]+R[2:]])),
("split two strings", J, split(data=[["a","b"]+R[2:]])),
("split string and missing", J, split(C[1:],[["x"]+R[2:]])),
("split missing and extra", J, split(C[1:]+["extra","z"],[R[1:]+[1,2]])),
("split short row", J, split(data=[R[:7]])),
("split long row", J, split(data=[R+[1]])),
("split NaN", J, None),
("split Infinity", J, None),
("split empty string", J, split(data=[[""]+R[1:]])),
("split space number", J, split(data=[[" 8.3 "]+R[1:]])),
("split hex string", J, split(data=[["0x10"]+R[1:]])),
("split inf string", J, split(data=[["inf"]+R[1:]])),
("split duplicate column", J, split(C+["MedInc"],[R+[1.0]])),
("records two rows missing differs", J, {"dataframe_records":[rec,{k:v for k,v in rec.items() if k!="Latitude"}]}),
("split columns missing", J, {"dataframe_split":{"data":[R]}}),
("split unknown key", J, split(foo=1)),
("records not objects", J, {"dataframe_records":[R]}),
("instances not a list", J, {"instances":rec}),
("inputs ragged", J, {"inputs":dict({c:[v] for c,v in zip(C,R)},MedInc=[1.0,2.0])}),
("inputs scalar column", J, {"inputs":dict({c:[v] for c,v in zip(C,R)},MedInc=1.0)}),
("csv bool", "text/csv", ",".join(C)+"\nTrue,"+",".join(map(str,R[1:]))+"\n"),
("csv quoted number", "text/csv", ",".join(C)+"\n\"8.3\","+",".join(map(str,R[1:]))+"\n"),
("csv short row", "text/csv", ",".join(C)+"\n"+",".join(map(str,R[:7]))+"\n"),
("csv long row", "text/csv", ",".join(C)+"\n"+",".join(map(str,R+[1]))+"\n"),
("csv header only", "text/csv", ",".join(C)+"\n"),
("csv space", "text/csv", ",".join(C)+"\n 8.3 ,"+",".join(map(str,R[1:]))+"\n"),
("csv infinity", "text/csv", ",".join(C)+"\ninf,"+",".join(map(str,R[1:]))+"\n"),
("json charset upper", "application/json; charset=UTF-8", split()),
("json uppercase type", "Application/JSON", split()),
]
for name,ct,body in cases:
    if name=="invalid JSON": b='{"dataframe_split": '
    elif name=="split NaN": b=json.dumps(split(data=[[float("nan")]+R[1:]]))
    elif name=="split Infinity": b=json.dumps(split(data=[[float("inf")]+R[1:]]))
    elif isinstance(body,str) and (ct is None or not ct.startswith("application/json")): b=body
    else: b=json.dumps(body)
    print(json.dumps({"name":name,"content_type":ct,"body":b}))
