"""The tamper-evident chain of audit reports.

Each report is a canonical JSON document that names the SHA-256 of the project's previous report;
its own SHA-256 is kept in the database. Changing a stored document breaks its hash; changing a
database row's hash or link breaks the chain; changing results in the database after the fact no
longer matches the newest document (the caller compares those).
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """One byte sequence per document: sorted keys, no spaces, UTF-8, numbers as strings."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    """One report as the database and the evidence storage each remember it."""

    number: int
    sha256: str
    previous_sha256: str
    content: bytes | None  # None: the stored document is missing


def verify_chain(links: Iterable[ChainLink]) -> list[str]:
    """Problems found, oldest first; an empty list means the chain is intact. A list is sorted by
    number first; any other iterable must come in number order (so that a caller can stream big
    documents one at a time)."""
    problems = []
    previous = ""
    ordered = sorted(links, key=lambda link: link.number) if isinstance(links, list) else links
    for link in ordered:
        if link.content is None:
            problems.append(f"report {link.number}: the stored document is missing")
        else:
            actual = digest(link.content)
            if actual != link.sha256:
                problems.append(
                    f"report {link.number}: the stored document's SHA-256 is {actual}, "
                    f"the database says {link.sha256}"
                )
            try:
                named = json.loads(link.content).get("previous_sha256", "")
            except (ValueError, AttributeError):
                problems.append(f"report {link.number}: the stored document is not a report")
                named = link.previous_sha256
            if named != link.previous_sha256:
                problems.append(
                    f"report {link.number}: the document names previous report "
                    f"{named or '(none)'}, the database says {link.previous_sha256 or '(none)'}"
                )
        if link.previous_sha256 != previous:
            problems.append(
                f"report {link.number}: links to {link.previous_sha256 or '(none)'}, "
                f"but the report before it is {previous or '(none)'}"
            )
        previous = link.sha256
    return problems
