"""Parse search_runs filters with a real MLflow's SearchUtils and print
what it made of each, one JSON line a filter: the parsed comparisons, or
the error message. The answers are pkg/tracking/testdata/mlflow-filters.jsonl.

usage: PYTHONPATH=/opt/realmlflow/site /usr/bin/python3 filter_probe.py < filters.txt
(one filter a line)
"""
import json
import sys

from mlflow.exceptions import MlflowException
from mlflow.utils.search_utils import SearchUtils

for line in sys.stdin:
    f = line.rstrip("\n")
    try:
        parsed = SearchUtils.parse_search_filter(f)
        print(json.dumps({"filter": f, "parsed": parsed}, default=str))
    except MlflowException as e:
        print(json.dumps({"filter": f, "error": e.message, "error_code": e.error_code}))
    except Exception as e:  # not MLflow's own refusal: a crash in its parser
        print(json.dumps({"filter": f, "crash": repr(e)}))
