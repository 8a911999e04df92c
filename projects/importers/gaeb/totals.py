"""What a bill declares: its totals per category and in all, its discount, net, VAT and gross."""

from dataclasses import dataclass, field
from decimal import Decimal

from projects.importers.base import ImportReport, round_money

_TOTALS_FIELDS = frozenset(
    {
        "Total",
        "DiscountPcnt",
        "DiscountAmt",
        "TotAfterDisc",
        "TotalLSUM",
        "VAT",
        "TotalNet",
        "VATAmount",
        "TotalGross",
    }
)


@dataclass
class Totals:
    """What the file declares: per category (in file order) and for the whole bill."""

    # [category number, declared total or None], outer categories first
    categories: list[list] = field(default_factory=list)
    declared: dict[str, Decimal] = field(default_factory=dict)


def _declare(totals: Totals, report: ImportReport) -> None:
    """Tell the report what the file declares: every category's total (part = its number) and
    the bill's (the whole), and the bill's discount, net, VAT and gross."""
    for number, declared in totals.categories:
        report.declare("", number, declared)
    report.declare("", "", totals.declared.get("Total"))
    if totals.declared:
        report.declared_totals = declared_totals(totals.declared)
    _check_discount_and_vat(totals.declared, report)


def _check_discount_and_vat(declared: dict[str, Decimal], report: ImportReport) -> None:
    total, after = declared.get("Total"), declared.get("TotAfterDisc")
    if total is not None and after is not None:
        if "DiscountPcnt" in declared:
            expected = round_money(total * (1 - declared["DiscountPcnt"] / 100))
        elif "DiscountAmt" in declared:
            expected = total - declared["DiscountAmt"]
        else:
            expected = after
        if abs(expected - after) > Decimal("0.01"):
            report.warning(
                "bill", f"the total after discount is {after}, not {expected}", "TotAfterDisc"
            )
    net, rate, vat = declared.get("TotalNet"), declared.get("VAT"), declared.get("VATAmount")
    if net is not None and rate is not None and vat is not None:
        expected = round_money(net * rate / 100)
        if abs(expected - vat) > Decimal("0.01"):
            report.warning("bill", f"the VAT is {vat}, not {rate} % of {net} = {expected}", "VAT")
    gross = declared.get("TotalGross")
    if net is not None and vat is not None and gross is not None and net + vat != gross:
        report.warning("bill", f"the gross total is {gross}, not {net} + {vat}", "TotalGross")


# Declared totals as Kalkula names them (BudgetVersion.declared_totals).
DECLARED_NAMES = {
    "Total": "total",
    "DiscountPcnt": "discount_percent",
    "DiscountAmt": "discount",
    "TotAfterDisc": "after_discount",
    "TotalLSUM": "lump_sum_total",
    "TotalNet": "net",
    "VAT": "vat_percent",
    "VATAmount": "vat",
    "TotalGross": "gross",
}


def declared_totals(declared: dict[str, Decimal]) -> dict[str, str]:
    """The bill's declared totals by Kalkula's names; `net` is the total when no net is given."""
    named = {DECLARED_NAMES[key]: str(value) for key, value in declared.items()}
    if "net" not in named:
        net = declared.get("TotAfterDisc", declared.get("Total"))
        if net is not None:
            named["net"] = str(net)
    return named
