import json, sys
from dvc.utils.serialize._yaml import dumps_yaml
names = ["=", "<<", "yes", "no", "on", "off", "y", "n", "Y", "N", "YES", "On", "true", "True", "FALSE", "null", "Null", "~", "12:30", "1:2:3", "1e3", "1E3", "0x1F", "0o17", "0b101", ".inf", "-.Inf", ".nan", "-", "?", ":", "a: b", "a #b", "#a", "a#b", "'q", '"q', "q'", 'q"', "&a", "*a", "!a", "%a", "@a", "`a", "|a", ">a", "[a", "]a", "{a", "}a", ",a", "a,b", "a b", " a", "a ", "😀.bin", "é.csv", "日本.txt", "a\tb", "123", "1.5", "-1", "+1", "1_000", "2001-12-14", "2001-12-14T21:59:43.10-05:00", "0123", "08", ".5", "5.", "data.csv", "a:b", "a-", "-a", "--", "---", "...", "a\\b", "a\u200bb", "\ufeffa", "a\u0085b", "a\u2028b", "a\x01b", "a\x7fb", 'a"b', "x" * 100, ("word " * 30).strip(), "- a", "? a", ": a", "a\nb", "%", "!", "&", "*", "|", ">", "'", '"', "#", "a?", "a!", "a&", "a*", "a|", "a>", "a%", "a@", "a`", "[]", "{}", "a[b]", "a{b}", "a\u00a0b", "\u00e9", "a\u0300", "NaN", "nan", "Inf", "+.inf", "0", "-0", "0.0", "1_0", "0b", "0x", "e", "E3", "1e", "1.2.3", "+", "=a", "a=", "<<a", "a<<", "\ud7ff", "\ue000", "\ufffd", "a\ufffeb", "\U0001F600", "\U000E0001"]
out = []
for n in names:
    try:
        y = dumps_yaml({"outs": [{"md5": "d41d8cd98f00b204e9800998ecf8427e", "size": 0, "hash": "md5", "path": n}]})
    except Exception as e:
        y = "ERROR " + repr(e)
    out.append({"name": n, "yaml": y})
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
