"""GAEB DA XML (Germany, Austria): bills of quantities as tenders (X83), bids (X84), contract
awards (X86) and the other bill phases, DA XML 3.0–3.3 and the 2.x files with the same (English)
element names.

`GAEB/Award/BoQ/BoQBody` nests `BoQCtgy` (lots, titles, subtitles: `RNoPart`, `LblTx`) down to
an `Itemlist` of `Item`s and `MarkupItem`s; an `Itemlist` may also sit directly under the BoQ's
own body (a flat bill without categories). A position's number is the chain of `RNoPart`s
(`01.02.0010`, an `RNoIndex` appended as `.A`), each numeric part padded to its `BoQInfo/BoQBkdn`
length; its section is the path of its categories' labels; its description the short text
(`OutlineText`, or the long text's first line when there is none) and its long text the
`DetailTxt`.

Item kinds (`Position.kind`): `Provis` WithTotal / WithoutTotal, `ALNGroupNo` +
`ALNSerNo` (the group's first, lowest serial is its base item, the others alternatives),
`MarkupItem` and `MarkupIt`, `LumpSumItem`, `HourIt`, `QtyTBD`. An `Item` with no quantity, no
price and none of those kinds is a text item: kept as a note of the import, not as a position.
A `MarkupItem` is stored as markup % (quantity, unit "%") × the amount it applies to / 100 (unit
price), so quantity × unit price is its total as for any other position.

Where quantity × unit price and the item total (`IT`) disagree, the unit price wins (VOB/A §16c)
and the difference is a warning. The totals the file declares (`Totals` of every `BoQCtgy`, a
part named by its number, and of the BoQ, the whole) go to projects.reconciliation, which checks
them against the imported items by the one rule of which kinds count; the bill's discount, net,
VAT and gross are kept with the version and checked against each other here.

Parsed by expat with defusedxml's rules (a DTD, an entity declaration or an external reference
stops it) and handlers that keep only the item being read and the open categories: no element tree
is built, so memory stays flat whatever the file's size, and every message names the XML line and
path (defusedxml's own ElementTree parser is the pure-Python one, three times slower). A GAEB
file that is not a bill (X31 quantity take-off, X89 invoice, trade and cost phases) is refused with
a message naming its phase.
"""

from collections.abc import Iterator
from typing import BinaryIO, NoReturn
from xml.parsers import expat
from xml.parsers.expat import ExpatError, XMLParserType

from defusedxml import DefusedXmlException
from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from projects.importers.base import (
    ImportFailed,
    ImportReport,
    ParsedPosition,
    PreviousPositions,
    ProgressCallback,
)
from projects.importers.gaeb.items import (
    ALTERNATIVE,
    BASE,
    CONTINGENCY,
    CONTINGENCY_WITHOUT_TOTAL,
    HOURLY,
    LUMP_SUM,
    MARKUP,
    MARKUP_UNIT,
    QTY_TBD,
)
from projects.importers.gaeb.phases import (
    BID_PHASE,
    BILL_PHASES,
    NAMESPACE_PREFIX,
    OTHER_PHASES,
    ROOT,
    _phase_from_name,
)
from projects.importers.gaeb.target import _Target
from projects.importers.gaeb.totals import DECLARED_NAMES, Totals, _declare, declared_totals

__all__ = [
    "ALTERNATIVE",
    "BASE",
    "BID_PHASE",
    "BILL_PHASES",
    "CHUNK",
    "CONTINGENCY",
    "CONTINGENCY_WITHOUT_TOTAL",
    "DECLARED_NAMES",
    "HOURLY",
    "LUMP_SUM",
    "MARKUP",
    "MARKUP_UNIT",
    "NAMESPACE_PREFIX",
    "OTHER_PHASES",
    "QTY_TBD",
    "ROOT",
    "Totals",
    "declared_totals",
    "read",
]

CHUNK = 256 * 1024


def _parser() -> XMLParserType:
    """An expat parser with defusedxml's rules: a DTD, an entity declaration or an external
    reference stops it (entity expansion is how XML bombs work). `_Target` adds its handlers."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = CHUNK

    def doctype(name: str, system_id: str | None, public_id: str | None, *_: object) -> NoReturn:
        raise DTDForbidden(name, system_id, public_id)

    def entity(name: str, *args: object) -> NoReturn:
        raise EntitiesForbidden(name, None, None, None, None, None)

    def external(
        context: str, base: str | None, system_id: str | None, public_id: str | None
    ) -> NoReturn:
        raise ExternalReferenceForbidden(context, base, system_id, public_id)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    return parser


def read(
    stream: BinaryIO,
    *,
    report: ImportReport,
    on_progress: ProgressCallback,
    filename: str = "",
    previous: PreviousPositions | None = None,
) -> Iterator[ParsedPosition]:
    """The positions of a GAEB file. `previous` (the project's current positions) completes the
    items of an X84 bid, which carries prices only, from the tender it answers."""
    size = stream.seek(0, 2)
    stream.seek(0)
    report.notes["format"] = "gaeb"
    parser = _parser()
    target = _Target(report, filename, previous, parser)
    chunks = 0
    try:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
            if target.ready:
                yield from target.ready
                target.ready.clear()
            chunks += 1
            if chunks % 8 == 0:
                on_progress(stream.tell(), size)
        parser.Parse(b"", True)
    except DefusedXmlException as exc:
        raise ImportFailed(
            "forbidden_xml",
            f"line {target.line}: the XML declares a DTD or entities ({type(exc).__name__}); they "
            "are refused because entity expansion can blow up without bound.",
        ) from None
    except ExpatError as exc:
        message = expat.ErrorString(exc.code)
        if not target.names and exc.lineno <= 1 and not target.info:
            raise ImportFailed("invalid_xml", f"The file is not XML: {message}.") from None
        where = target.path() or "the document"
        raise ImportFailed(
            "invalid_xml",
            f"The XML is not well-formed: line {exc.lineno}, column {exc.offset}, in {where}: "
            f"{message}.",
            line=exc.lineno,
            path=where,
        ) from None
    yield from target.ready
    target.ready.clear()
    if not target.phase:
        target.phase = _phase_from_name(filename)
        if target.phase:
            target._phase(target.phase, from_dp=False)
    _finish(target, report)
    on_progress(size, size)


def _finish(target: _Target, report: ImportReport) -> None:
    info = target.info
    phase = target.phase
    report.notes["gaeb_phase"] = f"X{phase}" if phase else "unknown"
    report.notes["gaeb_version"] = info.get("version") or info.get("namespace_version", "")
    if "currency" in info:
        report.notes["currency"] = info["currency"]
    name = info.get("boq_label") or info.get("boq_name")
    if name:
        report.notes["bill"] = name
    if phase and phase not in BILL_PHASES:
        report.warning("GAEB", f"unknown phase X{phase}: read as a bill of quantities")
    if target.notes:
        report.notes["text_notes"] = target.notes[:100]
    if target.completed:
        report.notes["completed_from_current_version"] = target.completed
    _declare(target.result, report)
