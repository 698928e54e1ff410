"""Summarise a ``py-spy record --format raw`` file: where the client's CPU went.

    python -m benchmarks.spy_summary FILE [PACKAGE_PATH_PART ...]

Leaves out the samples spent waiting in ``epoll`` (idle) and those of start-up (imports, the
benchmark emulator's launch), then prints, as shares of the remaining (busy) samples: where
the innermost frame is (the project, aiohttp, asyncio, logging...), and the project's
functions by self samples and by inclusive samples (a function counted once per sample it is
on the stack of).
"""

from __future__ import annotations

import collections
import re
import sys

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["func"], match["file"]


def _area(path: str) -> str:
    for part, name in (
        ("qruntime_session/workflows/", "project: workflows"),
        ("qruntime_session/emulator/", "project: emulator"),
        ("qruntime_session/", "project: SDK"),
        ("aiohttp/", "aiohttp"),
        ("yarl/", "yarl/multidict"),
        ("multidict/", "yarl/multidict"),
        ("logging/", "logging"),
        ("asyncio/", "asyncio"),
        ("json/", "json"),
        ("jsonschema", "jsonschema"),
        ("attr/", "attrs"),
    ):
        if part in path:
            return name
    return "other"


def main(argv: list[str]) -> None:
    path = argv[0]
    total = idle = startup = 0
    areas: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            stack_text, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack_text:
                continue
            count = int(count_text)
            frames = [_parse(f) for f in stack_text.split(";")]
            if frames[-1][0] == "EpollSelector.select":
                idle += count
                continue
            if any(f in ("_find_and_load", "server", "load_document") for f, _ in frames):
                startup += count
                continue
            total += count
            func, file = frames[-1]
            areas[_area(file)] += count
            if "qruntime_session/" in file:
                own[f"{func} ({file.split('qruntime_session/')[-1]})"] += count
            seen = set()
            for func, file in frames:
                if "qruntime_session/" in file:
                    key = f"{func} ({file.split('qruntime_session/')[-1]})"
                    if key not in seen:
                        seen.add(key)
                        inclusive[key] += count
    print(f"{total} busy samples ({idle} idle in epoll and {startup} of start-up left out)")
    for name, count in areas.most_common():
        print(f"  {name:<22} {100 * count / total:5.1f} %  (innermost frame)")
    print("project functions by self samples:")
    for name, count in own.most_common(15):
        print(f"  {100 * count / total:5.1f} %  {name}")
    print("project functions by inclusive samples:")
    for name, count in inclusive.most_common(25):
        print(f"  {100 * count / total:5.1f} %  {name}")


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]) or len(sys.argv) < 2:
        print(__doc__)
        raise SystemExit(0 if {"-h", "--help"} & set(sys.argv[1:]) else 2)
    main(sys.argv[1:])
