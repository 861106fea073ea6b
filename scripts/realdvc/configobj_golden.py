"""Golden data for housectl's configobj reader and writer, from the real
configobj DVC uses (ConfigObj(fobj), and ConfigObj(dict).write())."""
import io, json, sys
from configobj import ConfigObj, ConfigObjError
reads = [
 'url = /x',
 'url = "/x"   # my store',
 "url = '/x' # c",
 'url = /x # c',
 'url = /x#y',
 'url = /a b  ',
 'url =',
 'url = ""',
 'url = a, b',
 'url = a,',
 'url = ,',
 'url = "a, b"',
 'url = "/x # y"',
 "url = 'it\"s'",
 'url = """tri"ple"""',
 'URL = /upper',
 '"quoted key" = v',
 'url = "a"b',
 'url /x',
 'url = s3://bucket/path?x=1&y=2',
 'url = \\\\server\\share',
 '  url   =   spaced  ',
]
out = {"read": [], "write": []}
for r in reads:
    text = "['remote \"s\"']\n    " + r + "\n"
    try:
        c = ConfigObj(io.StringIO(text).readlines())
        out["read"].append({"line": r, "section": dict(c[list(c.keys())[0]])})
    except ConfigObjError as e:
        out["read"].append({"line": r, "error": str(e)})
values = ["/x", "/x # y", "/a,b", " lead", "trail ", "it's", 'say "hi"', "it's \"both\"", "", "s3://b/p", "a#b", "#a", "tab\tin", "é/ü", "x=y", "[x]", "'q", '"q']
for v in values:
    try:
        c = ConfigObj({"core": {"remote": "s"}, 'remote "s"': {"url": v}})
        buf = io.BytesIO(); c.write(buf)
        out["write"].append({"value": v, "text": buf.getvalue().decode()})
    except (ConfigObjError, UnicodeEncodeError) as e:
        out["write"].append({"value": v, "error": str(e)})
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
