"""The generated blocks of docs/*.md: replace the text between a BEGIN and an END marker, and
read the one-line files a benchmark script leaves in its run directory for the block's header.

Shared by the table scripts (bench_table.py, nn_bench_table.py, step_vs_torch_table.py,
portable_vs_native_table.py), which run as `python3 scripts/<name>.py` and so find this module
beside them. Python 3 standard library only.
"""
import os
import sys


def replace_block(path, begin, end, text):
    """Writes text between the markers begin and end of the file at path (a new file, renamed
    over the old one, so a failed write leaves the document as it was). Returns False, after
    saying so on stderr, when a marker is missing; the file is then left untouched."""
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if begin not in doc or end not in doc:
        print(f"{path}: markers {begin} / {end} missing", file=sys.stderr)
        return False
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(head + begin + "\n" + text + "\n" + end + tail)
    os.replace(tmp, path)
    return True


def run_text(directory, name):
    """The stripped text of the file `name` in a run directory (the load lines, the commit a
    benchmark script wrote there), or "?" when it cannot be read."""
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "?"
