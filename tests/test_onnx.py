"""The ONNX Runtime side of the ONNX export suite (tests/test_onnx.sh).

python3 tests/test_onnx.py DIR/manifest.txt: for every case tests/test_onnx.c
listed, onnx.checker (with shape inference), opset >= 17, a symbolic batch
dimension "N" on every input and output, every initializer read by a node
(a recurrent layer's parameters are written once, as its W, R and B), then
ONNX Runtime on nn.h's
inputs, compared with nn.h's outputs.  The difference printed and checked
is relative to the output's scale: max |ort - nn| / max |nn| over the
tensor, at most 1e-4.
python3 tests/test_onnx.py --run FILE...: the same checks of files the
examples wrote with --onnx, run on 3 random samples (nothing to compare
with: the outputs must be finite and of the declared shape); an input whose
doc_string says "whole numbers A..B" (token ids, sequence lengths) gets
random whole numbers in that range, A and B among them.
Last line: "N passed, N failed".
"""
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-4


def read_manifest(path):
    cases = []
    with open(path) as f:
        for line in f:
            kind, rest = line.split(" ", 1)
            if kind == "case":
                name, what = rest.rstrip("\n").split(" ", 1)
                cases.append({"name": name, "what": what, "input": [], "output": []})
            else:
                fields = rest.split()
                shape = [int(d) for d in fields[2:]]
                data = np.fromfile(fields[1], dtype="<f4").reshape(shape)
                cases[-1][kind].append((fields[0], data))
    return cases


def session(onnx_path):
    """the checked model and an ONNX Runtime session of it"""
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model, full_check=True)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert opset >= 17, "opset %d" % opset
    for v in list(model.graph.input) + list(model.graph.output):
        dim0 = v.type.tensor_type.shape.dim[0]
        assert dim0.dim_param == "N", "%s: first dim %s, not N" % (v.name, dim0)
    read = {name for node in model.graph.node for name in node.input}
    unread = [t.name for t in model.graph.initializer if t.name not in read]
    assert not unread, "initializers no node reads: %s" % ", ".join(unread)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return model, ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])


def shape_of(value, batch):
    return [batch] + [d.dim_value for d in value.type.tensor_type.shape.dim[1:]]


def run_random(onnx_path):
    model, sess = session(onnx_path)
    rng = np.random.default_rng(1)
    feeds = {}
    for v in model.graph.input:
        shape = shape_of(v, 3)
        whole = re.search(r"whole numbers (\d+)\.\.(\d+)", v.doc_string)
        if whole:
            lo, hi = int(whole.group(1)), int(whole.group(2))
            values = rng.integers(lo, hi + 1, shape)
            values.flat[:2] = [lo, hi][: values.size]
            feeds[v.name] = values.astype(np.float32)
        else:
            feeds[v.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    for v, y in zip(model.graph.output, sess.run(None, feeds)):
        assert list(y.shape) == shape_of(v, 3) and np.all(np.isfinite(y)), "%s: shape %s" % (v.name, y.shape)
    return ", ".join("%s %s" % (v.name, shape_of(v, "N")) for v in model.graph.output)


def check(case, onnx_path):
    sess = session(onnx_path)[1]
    feeds = dict(case["input"])
    got = sess.run(None, feeds)  # in order: an output's ONNX name may differ from its node's
    assert len(got) == len(case["output"]), "%d outputs, nn.h %d" % (len(got), len(case["output"]))
    diffs = []
    for (name, want), have in zip(case["output"], got):
        assert have.shape == want.shape, "%s: shape %s, nn.h %s" % (name, have.shape, want.shape)
        abs_diff = float(np.max(np.abs(have.astype(np.float64) - want)))
        scale = float(np.max(np.abs(want)))
        diffs.append((name, abs_diff, abs_diff / scale if scale > 0 else abs_diff))
    return diffs


def main():
    if sys.argv[1] == "--run":
        passed = 0
        for path in sys.argv[2:]:
            try:
                print("PASS %s runs in ONNX Runtime: %s" % (path, run_random(path)))
                passed += 1
            except Exception as e:
                print("FAIL %s: %s" % (path, str(e).strip().splitlines()[0]))
        print("%d passed, %d failed" % (passed, len(sys.argv) - 2 - passed))
        return passed != len(sys.argv) - 2
    manifest = sys.argv[1]
    directory = manifest.rsplit("/", 1)[0]
    passed = failed = 0
    worst = {}
    print("onnx %s, onnxruntime %s" % (onnx.__version__, ort.__version__))
    for case in read_manifest(manifest):
        try:
            diffs = check(case, "%s/%s.onnx" % (directory, case["name"]))
        except Exception as e:  # a checker or runtime error fails the case, naming it
            failed += 1
            print("FAIL %s (%s): %s" % (case["name"], case["what"], str(e).strip().splitlines()[0]))
            continue
        ok = all(rel <= TOLERANCE for _, _, rel in diffs)
        passed += ok
        failed += not ok
        text = ", ".join("%s: max abs %.2e rel %.2e" % d for d in diffs)
        print("%s %s (%s): %s" % ("PASS" if ok else "FAIL", case["name"], case["what"], text))
        op = case["name"].split("_", 1)[1] if case["name"].startswith("op") else case["name"]
        worst[op] = max(worst.get(op, 0.0), max(rel for _, _, rel in diffs))
    print("max relative difference per op and network:")
    for op, rel in worst.items():
        print("  %-20s %.2e" % (op, rel))
    print("%d passed, %d failed" % (passed, failed))
    return failed != 0


if __name__ == "__main__":
    sys.exit(main())
