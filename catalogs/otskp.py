"""The OTSKP road-works price catalog in its XML exchange format (XC4).

`XC4/CenoveSoustavy/…/Polozka` holds one item each: `znacka` (the code), `nazev` (the name), `MJ`
(the unit) and `jedn_cena` (the unit price, decimal comma); other children (`technicka_specifikace`
…) are not needed. Elements are matched by local name, case aside, at any depth below
`CenoveSoustavy`, with or without a namespace. Where the file states its price system and edition
(`typ_CS`, `verze` outside the items) they are noted as the edition's default name.

Parsed with defusedxml as a pull parser fed line by line: an item is forgotten once read, so memory
stays flat on the real catalog (~18,000 items); a DTD or entity declaration is refused.
"""

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException

from projects.importers.base import ImportFailed, ImportReport, ProgressCallback

# The pull parser with defusedxml's expat that the UNIXML importer reads with.
from projects.importers.unixml import _events, _pull_parser

ROOT = "xc4"
CONTAINER = "cenovesoustavy"
ITEM = "polozka"
FIELDS = frozenset({"znacka", "nazev", "mj", "jedn_cena"})
# What the file may say about itself, outside the items: the price system and its edition.
EDITION_FIELDS = ("typ_cs", "verze")
CHUNK = 64 * 1024


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def read_otskp(
    stream: BinaryIO, *, report: ImportReport, on_progress: ProgressCallback
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {"znacka", "nazev", "mj", "jedn_cena": text}) of every item, in file order. Raises
    ImportFailed when the file is not XML, not XC4, or declares a DTD or entities."""
    size = stream.seek(0, 2)
    stream.seek(0)
    report.notes["format"] = "otskp-xml"
    parser = _pull_parser()
    stack: list[Element] = []
    containers = 0  # open CenoveSoustavy elements
    item_line = 0
    edition: dict[str, str] = {}
    line = 1
    try:
        while chunk := stream.readline(CHUNK):
            parser.feed(chunk)
            for event, element in _events(parser):
                tag = _local(element.tag)
                if event == "start":
                    if not stack and tag != ROOT:
                        raise ImportFailed(
                            "not_otskp",
                            f"The XML's root is <{element.tag}>, not <XC4>: a price catalog in "
                            "XML is the OTSKP catalog (XC4).",
                        )
                    stack.append(element)
                    containers += tag == CONTAINER
                    if tag == ITEM:
                        item_line = line
                    continue
                stack.pop()
                if tag == CONTAINER:
                    containers -= 1
                elif tag == ITEM and containers:
                    yield item_line, _fields(element)
                    stack[-1].remove(element)  # read: forget it, the tree never grows
                elif tag in EDITION_FIELDS and containers and not _in_item(stack):
                    edition.setdefault(tag, (element.text or "").strip())
            if chunk.endswith(b"\n"):
                line += 1
                if line % 5000 == 0:
                    on_progress(stream.tell(), size)
        parser.close()
    except DefusedXmlException as exc:
        raise ImportFailed(
            "forbidden_xml",
            f"line {line}: the XML declares a DTD or entities ({type(exc).__name__}); they are "
            "refused because entity expansion can blow up without bound.",
        ) from None
    except ParseError as exc:
        err_line, column = exc.position
        raise ImportFailed(
            "invalid_xml",
            f"line {err_line}, column {column}: the XML is malformed ({str(exc).split(':')[0]}).",
        ) from None
    name = " ".join(edition[field] for field in EDITION_FIELDS if edition.get(field))
    if name:
        report.notes["edition"] = name[:100]
    on_progress(size, size)


def _in_item(stack: list[Element]) -> bool:
    return any(_local(element.tag) == ITEM for element in stack)


def _fields(item: Element) -> dict[str, str]:
    fields = {}
    for child in item:
        tag = _local(child.tag)
        if tag in FIELDS and tag not in fields:
            fields[tag] = (child.text or "").strip()
    return fields
