#!/usr/bin/env python3
"""docs/API.md from the declarations of nn.h, nn_opencl.h, nn_onnx.h and nn_mpi.h.

    python3 tools/api_doc.py           writes docs/API.md
    python3 tools/api_doc.py --check   fails if docs/API.md is not what the
                                       headers give (a declaration missing,
                                       added, changed or commented anew)

Reads each header up to its implementation: the section banners, every
NNDEF function, typedef, public macro (NN_ but not NN__) and enum constant,
each with the comment just above it or beside it.  The failure value of a
function follows from its return type (the ERRORS rule of nn.h) unless its
comment says otherwise."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ["nn.h", "nn_opencl.h", "nn_onnx.h", "nn_mpi.h"]
OUT = ROOT / "docs" / "API.md"


def declarations(text):
    """the part of a header before its implementation"""
    end = re.search(r"^/\* #{20,}\s*\n\s*IMPLEMENTATION", text, re.M)
    return text[:end.start()] if end else text


def comment_text(c):
    lines = [re.sub(r"^\s*(/\*+|\*+/|\*)?\s?", "", l).rstrip() for l in c.strip().rstrip("*/").split("\n")]
    text = " ".join(l.strip() for l in lines if l.strip() and not set(l.strip()) <= set("=*/#-"))
    return re.sub(r"\s*\*+/$", "", text).strip()


# functions with nothing to report: no pointer argument, or the error channel itself
CANNOT_FAIL = {"nn_last_error", "nn_clear_error", "nn_set_error", "nn_op_name", "nn_set_threads", "nn_lr_step",
               "nn_lr_cosine", "nn_graph_new", "nn_vocab_new"}


def failure(ret, name):
    """the value a function returns on failure, from its type"""
    ret = ret.replace("NNDEF", "").strip()
    if name in CANNOT_FAIL:
        return "cannot fail" if name not in ("nn_graph_new", "nn_vocab_new") else "NULL (out of memory)"
    if name.endswith("_free"):
        return "NULL is ignored" if ret == "void" else "0 if refused (in use); NULL is ignored"
    if ret == "void":
        return "returns nothing; the reason in nn_last_error()"
    if "*" in ret:
        return "NULL"
    if ret in ("float", "double"):
        return "NAN"
    return "0"


def parse(name, text):
    """[(kind, title-or-comment, [items])]: sections and groups of declarations"""
    text = declarations(text)
    out = []          # (section title, [(comment, [(kind, name, signature, failure)])])
    section = (name, [])
    out.append(section)
    group = None
    comment = ""
    i, n = 0, len(text)
    i = text.index("#ifndef")   # after the header's introduction (its top comment)
    while i < n:
        if text.startswith("/*", i):
            j = text.index("*/", i) + 2
            c = text[i:j]
            if re.match(r"/\* =+", c):   # a section banner
                title = comment_text(c).split(".")[0].split(":")[0].strip()
                section = (title, [])
                out.append(section)
                group = None
                comment = ""
            else:
                comment = comment_text(c)
                group = None
            i = j
            continue
        line_end = text.find("\n", i)
        line_end = n if line_end < 0 else line_end
        line = text[i:line_end]
        stripped = line.strip()
        item = None
        if stripped.startswith("NNDEF") or stripped.startswith("typedef"):
            j = i
            depth = 0
            while j < n:   # to the ; that ends it, outside braces and comments
                if text.startswith("/*", j):
                    j = text.index("*/", j) + 2
                    continue
                ch = text[j]
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                elif ch == ";" and depth == 0:
                    break
                j += 1
            decl = text[i:j + 1]
            rest = text[j + 1:text.find("\n", j + 1) if text.find("\n", j + 1) >= 0 else n]
            side = re.search(r"/\*(.*?)\*/", rest)
            sig = re.sub(r"\s+", " ", re.sub(r"/\*.*?\*/", "", decl, flags=re.S)).strip()
            sig = re.sub(r"\s*#(if|elif|else|endif|define)[^\n]*", "", sig)
            if stripped.startswith("NNDEF"):
                sig = re.sub(r"__attribute__\(\(.*?\)\)\)", "", sig).replace(" ;", ";")
                m = re.match(r"NNDEF\s+(.*?)\b(nn_\w+)\s*\(", sig)
                item = ("function", m.group(2), sig.replace("NNDEF ", ""), failure(m.group(1), m.group(2)))
            else:
                m = re.search(r"\b(nn_\w+)\s*;$", sig)
                short = sig if "{" not in sig else re.sub(r"\{.*\}", "{ .. }", sig)
                item = ("type", m.group(1) if m else sig, short if len(short) < 160 else short[:157] + "...", "")
                if "{" in sig and "enum" in sig:
                    consts = re.findall(r"\b(NN_[A-Z0-9_]+)\b", sig)
                    item = ("type", m.group(1), short, "constants: " + ", ".join(consts))
            i = j + 1 + (len(rest) if side else 0)
            if side:
                comment_side = comment_text("/*" + side.group(1) + "*/")
                item = item[:3] + ((item[3] + "; " if item[3] else "") + "note: " + comment_side,)
        elif re.match(r"#define NN_[A-Z]", stripped) and not re.match(r"#define NN_H\b|#define NN_\w*_H\b", stripped):
            m = re.match(r"#define (NN_\w+(\([^)]*\))?)\s*(.*)", stripped)
            val = re.sub(r"/\*.*", "", m.group(3)).strip().rstrip("\\").strip()
            at = text.find("/*", i, line_end)
            side = re.match(r"/\*(.*?)\*/", text[at:], re.S) if at >= 0 else None
            item = ("macro", m.group(1), "#define " + m.group(1) + (" " + val if val else ""),
                    "note: " + comment_text("/*" + side.group(1) + "*/") if side else "")
            i = line_end if not side else at + side.end()
            while text[i - 1] == "\\":   # continued lines
                i = text.find("\n", i + 1)
        elif re.match(r"enum\s*\{", stripped):
            j = text.index("};", i) + 2
            body = re.sub(r"/\*.*?\*/", "", text[i:j], flags=re.S)
            consts = re.findall(r"\b(NN_[A-Z0-9_]+)\b", body)
            item = ("constants", ", ".join(consts), re.sub(r"\s+", " ", body).strip(), "")
            i = j
        else:
            if not stripped:
                comment = comment if group is None else ""
            i = line_end + 1
            continue
        if group is None:
            group = (comment, [])
            section[1].append(group)
            comment = ""
        group[1].append(item)
    return [s for s in out if s[1]]


def render():
    lines = ["# nn.h API reference", "",
             "Generated by `tools/api_doc.py` from the declarations of nn.h, nn_opencl.h, nn_onnx.h and nn_mpi.h",
             "and their comments; `make test` fails when this file and the headers differ.", "",
             "**Errors.** A function that fails returns the value its type suggests -- 0, NULL, NAN -- unless",
             "its comment names another (the tables list them by type), and leaves the reason in",
             "`nn_last_error()`; a NULL pointer argument is such a failure, never a crash.", "",
             "**Ownership.** The caller owns what a constructor returns and frees it with the matching `*_free`.",
             "`nn_compile` on success gives the graph and the backend to the model (shared between models",
             "compiled from the same graph or on the same backend, freed with the last; the graph is frozen);",
             "a failed `nn_compile` takes nothing.  Optimizers, averages and batch iterators belong to their",
             "model and may be freed before or after it.  Nodes, optimizers and averages of another model are",
             "refused.  Details: the OWNERSHIP paragraph at the top of nn.h and README.md.", ""]
    for h in HEADERS:
        lines += ["## " + h, ""]
        for title, groups in parse(h, (ROOT / h).read_text()):
            if title != h:
                lines += ["### " + title, ""]
            for comment, items in groups:
                if comment:
                    lines += [comment, ""]
                lines.append("```c")
                lines += [it[2] for it in items]
                lines += ["```", ""]
                notes = [it for it in items if it[3]]
                if notes:
                    lines += ["| | returns on failure; notes |", "|---|---|"]
                    lines += ["| `%s` | %s |" % (it[1], it[3].replace("|", "\\|")) for it in notes]
                    lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main():
    doc = render()
    if sys.argv[1:] == ["--check"]:
        have = OUT.read_text() if OUT.exists() else ""
        missing = []
        for h in HEADERS:
            for name in re.findall(r"^NNDEF[^(]*?\b(nn_\w+)\s*\(", declarations((ROOT / h).read_text()), re.M):
                if "`%s`" % name not in have and " %s(" % name not in have and "*%s(" % name not in have:
                    missing.append("%s: %s" % (h, name))
        for m in missing:
            print("FAIL: %s is not in docs/API.md" % m)
        same = have == doc
        print(("PASS" if same else "FAIL") + ": docs/API.md %s the headers (python3 tools/api_doc.py writes it)"
              % ("matches" if same else "is out of date with"))
        passed = int(same) + (1 if not missing else 0)
        print("%d passed, %d failed" % (passed, 2 - passed))
        return 0 if passed == 2 else 1
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
