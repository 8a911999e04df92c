"""UNIXML 1.1 / 1.2: the budget as XML, with take-off, resources and declared sums."""

from xml.sax.saxutils import escape

from tests.projects.budget_files.model import Budget, Item, Overrides, czech


def unixml(budget: Budget, *, version: str = "1.1", wrong: Overrides | None = None) -> bytes:
    """The budget as UNIXML: items with typ_vety, typ_polozky, cenova_soustava and vykaz_vymer;
    resources per object; `cena_celkem` declared per part, object and building."""
    wrong = wrong or {}
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<unixml format="unixml_cz" verze="{version}">',
        "<typ_souboru>SOUPIS_PRACI</typ_souboru><zdroj>KROS</zdroj>",
        f"<stavba><kod_stavby>{budget.code}</kod_stavby>"
        f"<nazev_stavby>{escape(budget.name)}</nazev_stavby>",
        f"<cena_celkem>{czech(wrong.get(('', ''), budget.total))}</cena_celkem><objekty>",
    ]
    for obj in budget.objects:
        out.append(
            f"<objekt><kod_objektu>{obj.key}</kod_objektu>"
            f"<nazev_objektu>{escape(obj.name)}</nazev_objektu>"
            f"<cena_celkem>{czech(wrong.get((obj.key, ''), obj.total))}</cena_celkem><dily>"
        )
        resources = {}
        for group in obj.groups:
            out.append(f"<dil><kod_dilu>{group.code}</kod_dilu>")
            out.append(f"<cena_celkem>{czech(group.total)}</cena_celkem><dily>")
            for part in group.parts:
                declared = wrong.get((obj.key, part.code), part.total)
                out.append(f"<dil><kod_dilu>{part.code}</kod_dilu>")
                out.append(f"<cena_celkem>{czech(declared)}</cena_celkem><polozky>")
                for item in part.items:
                    resources[(item.kind, item.code)] = item
                    price = "0,00" if item.unit_price is None else czech(item.unit_price)
                    out.append(
                        f"<polozka><typ_vety>{item.kind}</typ_vety>"
                        f"<typ_polozky>{group.code}</typ_polozky>"
                        f"<kod_polozky>{item.code}</kod_polozky>"
                        f"<cislo_polozky>{item.number}</cislo_polozky>"
                        f"<mnozstvi>{czech(item.quantity)}</mnozstvi>"
                        f"<jednotkova_cena>{price}</jednotkova_cena>"
                        f"<cenova_soustava>{item.price_system}</cenova_soustava>"
                    )
                    if item.takeoff:
                        out.append("<vykaz_vymer>")
                        for expression, value in item.takeoff:
                            out.append(
                                f"<radek_vv><popis_vv>{escape(expression)}</popis_vv>"
                                f"<mnozstvi_vv>{czech(value)}</mnozstvi_vv>"
                                "<typ_vv>VYPOCET</typ_vv></radek_vv>"
                            )
                        out.append("</vykaz_vymer><typ_mnozstvi>VYPOCTENE</typ_mnozstvi>")
                    out.append("</polozka>")
                out.append("</polozky></dil>")
            out.append("</dily></dil>")
        out.append("</dily><zdroje><zdroje_dily>")
        for group in obj.groups:
            for part in [group, *group.parts]:
                out.append(
                    f"<zdroj_dil><kod_dilu>{part.code}</kod_dilu>"
                    f"<nazev_dilu>{escape(part.name)}</nazev_dilu></zdroj_dil>"
                )
        out.append("</zdroje_dily><zdroje_konstrukce>")
        for (kind, _code), item in resources.items():
            if kind == "K":
                out.append(_resource("zdroj_konstrukce", item))
        out.append("</zdroje_konstrukce><zdroje_materialy>")
        for (kind, _code), item in resources.items():
            if kind == "M":
                out.append(_resource("zdroj_material", item))
        out.append("</zdroje_materialy></zdroje></objekt>")
    out.append("</objekty></stavba></unixml>")
    return "\n".join(out).encode()


def _resource(tag: str, item: Item) -> str:
    return (
        f"<{tag}><kod_polozky>{item.code}</kod_polozky>"
        f"<zkraceny_popis_polozky>{escape(item.description)}</zkraceny_popis_polozky>"
        f"<plny_popis_polozky></plny_popis_polozky>"
        f"<merna_jednotka>{escape(item.unit)}</merna_jednotka>"
        f"<cenova_soustava>{item.price_system}</cenova_soustava></{tag}>"
    )
