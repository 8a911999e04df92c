"""GAEB phases (X80–X99): which carry a bill of quantities, and how a file names its own."""

import re

ROOT = "GAEB"
NAMESPACE_PREFIX = "http://www.gaeb.de/GAEB_DA_XML/"
# Phases whose files carry a bill of quantities, and what each is.
BILL_PHASES = {
    "80": "X80 (bill of quantities text)",
    "81": "X81 (bill of quantities)",
    "82": "X82 (cost estimate)",
    "83": "X83 (tender)",
    "84": "X84 (bid)",
    "85": "X85 (alternative bid)",
    "86": "X86 (contract award)",
    "87": "X87 (award confirmation)",
}
OTHER_PHASES = {
    "31": "X31 (quantity take-off)",
    "89": "X89 (invoice)",
    "89B": "X89B (invoice supporting document)",
    "50": "X50 (cost planning)",
    "51": "X51 (cost planning)",
    "52": "X52 (cost planning)",
    "61": "X61 (estimating)",
    "93": "X93 (trade: request)",
    "94": "X94 (trade: offer)",
    "96": "X96 (trade: order)",
    "97": "X97 (trade: order confirmation)",
    "98": "X98 (trade)",
    "99": "X99 (trade)",
}
# A bid: its schema has prices but no texts, units or kinds (they are the tender's).
BID_PHASE = "84"
_NAMESPACE_PHASE = re.compile(r"/DA(\d\d(?:\.\d)?[A-Z]?)/(\d\.\d)/?$", re.IGNORECASE)


def _phase_from_name(filename: str) -> str:
    match = re.search(r"\.[xXdD](\d\d)$", filename)
    return match.group(1) if match else ""
