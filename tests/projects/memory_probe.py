"""Reads files as a budget and as a price catalog the way import jobs do, in a process of its own,
and prints how each read ended and the process's peak resident memory (JSON):

    python -m tests.projects.memory_probe FILE...

Its address space is capped (ADDRESS_SPACE_LIMIT): a reader that swells on a hostile file fails
here (MemoryError, or an abort inside a native reader) instead of taking the machine's memory.
"""

import json
import resource
import sys
from pathlib import Path

ADDRESS_SPACE_LIMIT = 3 * 1024**3


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    import django

    django.setup()
    from catalogs.importer import read_catalog
    from projects.importers import ImportFailed, ImportReport, read_rows

    def budget(stream, name: str) -> None:
        for _ in read_rows(stream, filename=name, report=ImportReport(), on_progress=_quiet):
            pass

    def catalog(stream, name: str) -> None:
        read_catalog(stream, filename=name, report=ImportReport(), on_progress=_quiet)

    outcomes = {}
    for name in sys.argv[1:]:
        path = Path(name)
        for what, read in (("budget", budget), ("catalog", catalog)):
            with path.open("rb") as stream:
                try:
                    read(stream, path.name)
                    outcome = "read"
                except ImportFailed as exc:
                    outcome = f"{exc.code}: {exc.details.get('limit', '')}"
                except MemoryError:
                    outcome = "MemoryError"
            outcomes[f"{what} {path.name}"] = outcome
    print(json.dumps({"outcomes": outcomes, "max_rss_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> int:
    """This process's own peak resident size. Not getrusage's ru_maxrss: that survives exec,
    so a probe started by a large test process would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _quiet(done: int, total: int) -> None:
    pass


if __name__ == "__main__":
    main()
