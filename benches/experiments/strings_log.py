#!/usr/bin/env python3
"""What issue 17's incremental-push target would take: the split strings as an append-only log.

An experiment, not a bench: it stores only the split-out strings (1 KiB or more) of the storage
bench's 20 exports, each save's strings as chunks of at most CHUNK bytes in first-use order (a
save appends to the last chunk, so a push sends a delta against the chunk the remote has), and
prints the sum of the 20 thin packs a push after each save sends, and the full pack. Compare
with the `blob strings/*` rows of the storage bench's "20 incremental thin packs" composition,
which is what git-session's layout (one blob per string) sends for the same strings.

    GIT_SESSION_BENCH_KEEP=1 cargo bench --bench storage     # prints the kept temp dir
    python3 benches/experiments/strings_log.py <kept dir>/exports 4194304

Needs git and python3; writes a scratch repository under $TMPDIR.
"""

import json
import os
import subprocess
import sys
import tempfile

SPLIT = 1024


def main():
    exports = sys.argv[1]
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
    repo = tempfile.mkdtemp(prefix="strings-log-")
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
               GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.com",
               GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@example.com")

    def git(*args, data=None):
        return subprocess.run(["git", "-C", repo, *args], input=data, env=env,
                              capture_output=True, check=True).stdout

    git("init", "-q")
    files = sorted(f for f in os.listdir(exports) if f.startswith("export_"))
    commits = []
    for name in files:
        with open(os.path.join(exports, name)) as f:
            doc = json.load(f)
        seen, order = set(), []

        def walk(v):
            if isinstance(v, str):
                if len(v) >= SPLIT and v not in seen:
                    seen.add(v)
                    order.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        walk(doc)
        chunks = [b""]
        for s in order:
            b = s.encode() + b"\n"
            if chunks[-1] and len(chunks[-1]) + len(b) > chunk:
                chunks.append(b"")
            chunks[-1] += b
        entries = []
        for i, c in enumerate(chunks):
            oid = git("hash-object", "-w", "--stdin", data=c).decode().strip()
            entries.append(f"100644 blob {oid}\tchunk{i:04d}")
        sub = git("mktree", data=("\n".join(entries) + "\n").encode()).decode().strip()
        top = git("mktree", data=f"040000 tree {sub}\tstrings\n".encode()).decode().strip()
        parent = ["-p", commits[-1]] if commits else []
        commits.append(git("commit-tree", top, "-m", name, *parent).decode().strip())
    pushes = 0
    for i, c in enumerate(commits):
        revs = c + "\n" + (f"^{commits[i - 1]}\n" if i else "")
        pushes += len(git("pack-objects", "--thin", "--stdout", "--revs", "-q", data=revs.encode()))
    full = len(git("pack-objects", "--stdout", "--revs", "-q", data=(commits[-1] + "\n").encode()))
    print(f"chunks of {chunk} B: {len(commits)} incremental thin packs {pushes:,} B, full pack {full:,} B")


if __name__ == "__main__":
    main()
