"""`make bench`: run every benchmark and write bench/REPORT.md (sections in a fixed order)."""
from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
from pathlib import Path

from bench import (
    arena_grading,
    arena_leaderboard,
    arena_matchmaking,
    arena_rounds,
    arena_similar,
    auth,
    backup,
    cat,
    classroom,
    compose,
    edge,
    exam,
    faults,
    inference,
    kzone,
    tenant,
    tutor_quality,
    web,
)
from bench.common import commit_stamp, stamp_section

REPORT = Path(__file__).with_name("REPORT.md")
BENCHES = {"edge": edge.run, "cat": cat.run, "exam": exam.run, "tenant": tenant.run, "auth": auth.run,
           "kzone": kzone.run, "inference": inference.run, "tutor_quality": tutor_quality.run, "compose": compose.run,
           "classroom": classroom.run, "arena_similar": arena_similar.run, "arena_leaderboard": arena_leaderboard.run,
           "arena_matchmaking": arena_matchmaking.run, "arena_rounds": arena_rounds.run,
           "arena_grading": arena_grading.run, "web": web.run, "backup": backup.run,
           "faults": faults.run}


def _sections(text: str) -> dict[str, str]:
    """The report's sections by benchmark name (each starts with its marker comment)."""
    parts = re.split(r"^<!-- bench:([a-z_]+) -->\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def main(argv: list[str]) -> None:
    """Run the named benchmarks (default: all); their sections replace the old ones, the
    rest of the report is kept, so `make bench` of one area never erases another's figures."""
    chosen = argv or list(BENCHES)
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHES)}")
    sections = {n: stamp_section(t.rstrip(), None) + "\n\n"
                for n, t in (_sections(REPORT.read_text()) if REPORT.exists() else {}).items()}
    commit = commit_stamp()  # once, before this run rewrites the report
    for name in chosen:
        print(f"running benchmark: {name} ...", flush=True)
        sections[name] = stamp_section(BENCHES[name]().rstrip(), commit) + "\n\n"
        print(sections[name])
        stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        header = (f"# Benchmark report\n\nWritten by `make bench` (`python -m bench [name ...]`); last run {stamp} on "
                  f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
                  f"Each section names its own run and device, and the commit it measured (`git rev-parse --short "
                  f"HEAD`; `+dirty`: the tree had uncommitted changes).\n\n")
        body = "".join(f"<!-- bench:{n} -->\n{sections[n]}" for n in BENCHES if n in sections)
        REPORT.write_text(header + body)  # after each benchmark, so a later failure keeps earlier figures
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main(sys.argv[1:])
