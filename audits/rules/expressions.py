"""Take-off lines as estimators write them, evaluated safely (no eval(): a small parser of its own).

A line (KROS `VV`, UNIXML `vykaz_vymer`, RTS and ASPE take-off rows) is an arithmetic expression:
numbers with a decimal comma or point (`7,2`, `1 356.991`: a space groups thousands), `+ - * /`
and their typographic forms (`− – × · ÷`, and `x` between numbers), parentheses. Around it:
- text in double quotes is a comment (`(14+1)*(7,2+1) "obvod"`, `"základy"`);
- a label ends with a colon (`jáma na halu : 0,550*(13+1)`, `Celkem: A+B`);
- ASPE writes the result after `=` and tags the line with a letter (`…=1 356.991 [A]`); later lines
  may name earlier ones by their letter (`A+B`);
- `Součet` (`Celkem`, `Mezisoučet`) alone, or as the label, makes a sum line: it totals the lines
  above and does not add to the take-off again; inside an expression it is that running total;
- a unit written after a number or a parenthesis (`4 ks`, `2*3,5 m2`, `(2+3) m`) says what the
  number counts and is dropped: units are lower case, names of lines upper case.
The take-off's result is the sum of its lines that are not sum lines.
"""

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

SUM_WORDS = frozenset({"soucet", "celkem", "mezisoucet", "subtotal", "total", "summe"})
_COMMENT = re.compile(r'"[^"]*"?')
_TAG = re.compile(r"\[\s*([A-Za-z]{1,3})\s*\]\s*$")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = r"\d+(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)?|[.,]\d+"
# One C-speed scan yields every token; whatever is neither space nor a token lands in the last
# group: the expression is then not one.
_SCAN = re.compile(rf"({_NUMBER})|([-+*/()×÷·−–:])|([^\W\d_]+)|(\S)")
_OPERATORS = {"−": "-", "–": "-", "×": "*", "·": "*", "÷": "/", ":": "/", "x": "*", "X": "*"}
_THOUSANDS = str.maketrans({" ": None, "\u00a0": None, "\u202f": None, ",": "."})
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3}
# A unit after a number or a closing parenthesis, as a whole word (`4 ks`, `3,5m2`, `(2+3) bm`).
_UNIT = re.compile(
    r"(?<=[\d)])\s*(?:m[23²³]?|ks|kus|kg|t|bm|mb|hod|h|l|km|cm|mm|kpl|soubor|sada)\.?(?![^\W_])"
)
_OUT_OF_RANGE = "the number is out of range"


class NotAnExpression(ValueError):
    """The text is not an expression the take-off evaluator reads; the message says why."""


def _fold(text: str) -> str:
    """Lower case without diacritics: `Součet` → `soucet`."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().strip()


class Line(NamedTuple):
    """One take-off line taken apart: what it computes and how it counts."""

    expression: str  # the arithmetic left once comments, label, tag and stated result are gone
    is_sum: bool = False
    tag: str = ""


_LABEL = Line("")


@functools.lru_cache(maxsize=65536)
def split_line(text: str) -> Line:
    """The parts of a take-off line's text (see the module's docstring)."""
    # The common line is bare arithmetic: each test below is a C-speed `in` before any work.
    if '"' in text:
        text = _COMMENT.sub(" ", text).strip()
        if not text:
            return _LABEL  # a comment alone
    tag = ""
    if "[" in text and (found := _TAG.search(text)) is not None:
        tag, text = found.group(1).upper(), text[: found.start()]
    if "=" in text:
        text = text.split("=", 1)[0]
    is_sum = False
    if ":" in text:
        label, rest = text.rsplit(":", 1)
        if _WORD.search(label):  # a label; a colon between numbers divides
            is_sum = _fold(label) in SUM_WORDS
            text = rest
    text = _UNIT.sub("", text).strip()
    if _DIGIT.search(text) is None:
        if _fold(text) in SUM_WORDS:
            return Line("", is_sum=True, tag=tag)
        if not _names_only(text):
            text = ""  # words alone: a label line
    return Line(text, is_sum=is_sum, tag=tag)


def _names_only(text: str) -> bool:
    """Letters that could name earlier lines (`A+B`), not prose (`jáma na halu`)."""
    words = _WORD.findall(text)
    return bool(words) and all(len(word) <= 3 and word.isupper() for word in words)


def _apply(operator: str, values: list[Decimal]) -> None:
    if operator == "neg":
        values[-1] = -values[-1]
        return
    right = values.pop()
    if operator == "+":
        values[-1] += right
    elif operator == "-":
        values[-1] -= right
    elif operator == "*":
        values[-1] *= right
    elif right == 0:
        raise NotAnExpression("division by zero")
    else:
        values[-1] /= right


def _compute(expression: str, names: Mapping[str, Decimal], running: Decimal) -> Decimal:
    """Operator precedence (shunting-yard) applied as the tokens come: the hot loop of a take-off
    check, one pass, no token list."""
    values: list[Decimal] = []
    operators: list[str] = []
    operand_next = True  # where a number, a sign or an opening parenthesis must come
    precedence = _PRECEDENCE
    for number, operator, name, bad in _SCAN.findall(expression):
        if number:
            if not operand_next:
                raise NotAnExpression(f"{number} follows a complete term without an operator")
            values.append(Decimal(number.translate(_THOUSANDS)))
            operand_next = False
            continue
        if name:
            if name in ("x", "X"):
                operator = "*"
            else:
                if not operand_next:
                    raise NotAnExpression(f"{name} follows a complete term without an operator")
                found = names.get(name)
                if found is None:
                    if _fold(name) not in SUM_WORDS:
                        raise NotAnExpression(f"{name!r} names no earlier line")
                    found = running  # Součet: the lines above
                values.append(found)
                operand_next = False
                continue
        elif bad:
            raise NotAnExpression(f"{bad!r} is not a number, an operator or a name")
        operator = _OPERATORS.get(operator, operator)
        if operator == "(":
            if not operand_next:
                raise NotAnExpression("( follows a complete term without an operator")
            operators.append("(")
        elif operator == ")":
            if operand_next:
                raise NotAnExpression(") where a number is expected")
            while operators and operators[-1] != "(":
                _apply(operators.pop(), values)
            if not operators:
                raise NotAnExpression(") closes no parenthesis")
            operators.pop()
        elif operand_next:
            if operator == "-":
                operators.append("neg")
            elif operator != "+":
                raise NotAnExpression(f"{operator} where a number is expected")
        else:
            rank = precedence[operator]
            while operators and operators[-1] != "(" and precedence[operators[-1]] >= rank:
                _apply(operators.pop(), values)
            operators.append(operator)
            operand_next = True
    if not values and not operators:
        raise NotAnExpression("nothing to compute")
    if operand_next:
        raise NotAnExpression("it ends where a number is expected")
    while operators:
        operator = operators.pop()
        if operator == "(":
            raise NotAnExpression("a parenthesis is not closed")
        _apply(operator, values)
    return values[0]


def evaluate(
    expression: str, names: Mapping[str, Decimal] | None = None, running: Decimal = Decimal(0)
) -> Decimal:
    """The value of an arithmetic expression (decimal comma or point, + − × ÷, parentheses,
    names of earlier lines in `names`, `Součet` for `running`, the total of the lines above).
    Raises NotAnExpression saying what is wrong."""
    try:
        return _compute(expression, names or {}, running)
    except ArithmeticError:  # decimal's InvalidOperation, Overflow, …
        raise NotAnExpression(_OUT_OF_RANGE) from None


@dataclass
class TakeoffResult:
    """What a take-off computes: its total, and the lines that could not be read."""

    total: Decimal | None  # None: nothing to total (labels only, or a line without any value)
    lines: int = 0  # lines that count toward the total
    problems: list[dict[str, Any]] = field(default_factory=list)  # {line, expression, problem}


def evaluate_takeoff(lines: Iterable[Mapping[str, Any]]) -> TakeoffResult:
    """Evaluate take-off lines ({"expression", "value", "line"}) in order. A line that does not
    parse is listed in `problems`; the total then uses the value the file states for it, and is
    None when the file states none."""
    total = Decimal(0)
    counted = 0
    names: dict[str, Decimal] = {}
    problems: list[dict[str, Any]] = []
    complete = True
    for entry in lines:
        text = entry.get("expression") or ""
        expression, is_sum, tag = split_line(text)
        value: Decimal | None = None
        if expression:
            try:
                value = _compute(expression, names, total)
            except (NotAnExpression, ArithmeticError) as exc:
                problem = str(exc) if isinstance(exc, NotAnExpression) else _OUT_OF_RANGE
                problems.append(
                    {"line": entry.get("line"), "expression": text[:200], "problem": problem}
                )
                value = _stated(entry.get("value"))
                complete = complete and value is not None
        elif not is_sum and (stated_value := _stated(entry.get("value"))):
            value = stated_value  # a value with no expression to check: as the file says
        if value is None:
            continue
        if tag:
            names[tag] = value
        if not is_sum:
            total += value
            counted += 1
    return TakeoffResult(total if counted and complete else None, counted, problems)


def _stated(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
