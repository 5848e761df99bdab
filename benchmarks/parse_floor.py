"""The floor: ``libcst.parse_module`` of every file and nothing else, with the same process
pool and chunking as ``leaklint check``, so start-up, pool and parse costs compare like with
like. Usage: ``python parse_floor.py --jobs 2 @file_list`` (or file names)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor


def _parse_chunk(paths: Sequence[str]) -> int:
    import libcst

    parsed = 0
    for path in paths:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            libcst.parse_module(data)  # libcst decodes bytes itself (BOM, coding cookie)
            parsed += 1
        except Exception:  # a syntax error is as cheap a result as any other
            pass
    return parsed


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("paths", nargs="+", help="files, or @file with one path per line")
    args = parser.parse_args(argv)
    paths: list[str] = []
    for given in args.paths:
        if given.startswith("@"):
            with open(given[1:], encoding="utf-8") as handle:
                paths.extend(line.rstrip("\n") for line in handle if line.strip())
        else:
            paths.append(given)
    size = max(1, min(32, len(paths) // (args.jobs * 8)))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    if args.jobs == 1:
        parsed = sum(_parse_chunk(chunk) for chunk in chunks)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            parsed = sum(pool.map(_parse_chunk, chunks))
    print(f"parsed {parsed} of {len(paths)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
