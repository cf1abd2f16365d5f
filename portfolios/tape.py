"""The loan-tape format: its columns and how rows are checked (the files themselves: tape_files).

Pure code (no database): the import service feeds it rows and stores what it returns.
"""

import re
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import compress, count, repeat, zip_longest
from operator import and_, eq, lt, not_
from typing import Any, cast

from django.utils.translation import gettext as _

from portfolios.models import Loan

# Active ISO 4217 currency codes (precious metals, test and fund codes left out).
ISO_4217_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL
HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON
RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH
UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
ISO_4217 = frozenset(ISO_4217_CODES.split())
MAX_MONEY = Decimal("9999999999999999.99")
TRUE = frozenset({"true", "yes", "y", "1", "t"})
FALSE = frozenset({"false", "no", "n", "0", "f"})
MAX_DPD = 36_500


class CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Every parser returns the value as PostgreSQL's COPY reads it (text), so that a tape of millions of rows is
# checked without building Python objects for every cell; the common shapes take a regular-expression fast path.
PLAIN_AMOUNT = re.compile(r"\d{1,16}(?:\.\d{1,2})?", re.ASCII)
PLAIN_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
AMOUNT_KEY_FORM = re.compile(r"(?:0|[1-9]\d{0,15})\.\d\d", re.ASCII)  # what f"{Decimal(text):.2f}" gives
PLAIN_IDENTITY = re.compile(r"[0-9A-Z]{1,32}", re.ASCII)  # a national id as _identity leaves it
PLAIN_RATE = re.compile(r"100|\d{1,2}(?:\.\d{1,4})?", re.ASCII)
SEPARATOR = "\x1f"  # separates the fields under a keyed hash (tape_copy.identities), so no cell may hold it


def _text(max_length: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > max_length:
            raise CellError("too_long", _("At most %(n)d characters.") % {"n": max_length})
        if SEPARATOR in text:
            raise CellError("bad_text", _("Contains a control character (unit separator)."))
        return text

    return parse


def _identity(text: str) -> str:
    """National id or registration number, compared without spaces or dashes and in upper case."""
    return _text(32)(text.replace(" ", "").replace("-", "").upper())


def _money(text: str) -> str:
    if PLAIN_AMOUNT.fullmatch(text):
        return text
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise CellError("bad_number", _("Expected an amount such as 1234.56.")) from None
    if not amount.is_finite() or int(amount.as_tuple().exponent) < -2:
        raise CellError("bad_number", _("Expected an amount with at most two decimals."))
    if amount < 0:
        raise CellError("negative", _("An amount cannot be negative."))
    if amount > MAX_MONEY:
        raise CellError("out_of_range", _("The amount is too large."))
    return f"{amount:.2f}"


def _rate(text: str) -> str:
    try:
        rate = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise CellError("bad_number", _("Expected a yearly rate in percent such as 6.5.")) from None
    if not rate.is_finite() or int(rate.as_tuple().exponent) < -4:
        raise CellError("bad_number", _("Expected a rate with at most four decimals."))
    if rate < 0:
        raise CellError("negative", _("A rate cannot be negative."))
    if rate > 100:
        raise CellError("out_of_range", _("A yearly rate above 100% is not plausible; give it in percent."))
    return f"{rate:f}"


def _count(maximum: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            number = int(text)
        except ValueError:
            raise CellError("bad_number", _("Expected a whole number.")) from None
        if number < 0:
            raise CellError("negative", _("The number cannot be negative."))
        if number > maximum:
            raise CellError("out_of_range", _("At most %(n)d.") % {"n": maximum})
        return str(number)

    return parse


def _date(text: str) -> str:
    """An ISO date (`2024-03-15`; `2024/03/15` is read too); ISO texts compare like the dates they are."""
    plain = PLAIN_DATE.fullmatch(text) is not None
    try:
        value = date.fromisoformat(text if plain else text.replace("/", "-"))
    except ValueError:
        raise CellError("bad_date", _("Expected a date as YYYY-MM-DD.")) from None
    return text if plain else value.isoformat()


def _flag(text: str) -> str:
    lowered = text.lower()
    if lowered in TRUE:
        return "true"
    if lowered in FALSE:
        return "false"
    raise CellError("invalid_choice", _("Expected yes or no."))


def _choice(choices: type[Any]) -> Callable[[str], str]:
    values = frozenset(choices.values)
    allowed = ", ".join(choices.values)

    def parse(text: str) -> str:
        value = text.lower().replace(" ", "_")
        if value not in values:
            raise CellError("invalid_choice", _("Expected one of: %(allowed)s.") % {"allowed": allowed})
        return value

    return parse


def _currency(text: str) -> str:
    code = text.upper()
    if code not in ISO_4217:
        raise CellError("unknown_currency", _("Not an ISO 4217 currency code."))
    return code


def amount_key(text: str) -> str:
    """An amount as two-decimal text, so `9600`, `9600.0` and `9,600.00` hash alike in the title register."""
    return text if AMOUNT_KEY_FORM.fullmatch(text) else f"{Decimal(text):.2f}"


Suspects = Callable[[list[str]], list[int]]


def _not_matching(plain: Callable[[str], Any]) -> Suspects:
    """Cells `plain` does not accept as they are (the test and the loop run in C for regular expressions and sets)."""
    return lambda values: list(compress(count(), map(not_, map(plain, values))))


def _empty(values: list[str]) -> list[int]:
    return list(compress(count(), map(not_, values))) if "" in values else []


def _not_fully_matching(pattern: str) -> Suspects:
    """Cells that `pattern` does not match whole. A column whose every cell matches or is empty, the common case, is
    passed by one match over its cells joined by line ends (three times cheaper than a match per cell), and only its
    empty cells are suspects; other columns are tested cell by cell. The pattern never matches a line end, and a
    cell holding one makes the column fail the count of line ends, so a cell cannot pass as two."""
    per_cell = _not_matching(re.compile(pattern, re.ASCII).fullmatch)
    whole_column = re.compile(rf"(?:(?:{pattern})?\n)*", re.ASCII).fullmatch

    def suspects(values: list[str]) -> list[int]:
        joined = "\n".join(values) + "\n"
        if whole_column(joined) and joined.count("\n") == len(values):
            return _empty(values)
        return per_cell(values)

    return suspects


def _not_in(allowed: frozenset[str]) -> Suspects:
    """Cells that are not one of `allowed` as they are (in the common case one set test for the whole column)."""
    per_cell = _not_matching(allowed.__contains__)
    allowed_or_empty = allowed | {""}
    return lambda values: _empty(values) if allowed_or_empty.issuperset(values) else per_cell(values)


def _all_cells(values: list[str]) -> list[int]:
    return list(range(len(values)))


def _long_or_empty(max_length: int) -> Suspects:
    def suspects(values: list[str]) -> list[int]:
        if "" not in values and max(map(len, values), default=0) <= max_length and SEPARATOR not in "".join(values):
            return []
        return [i for i, text in enumerate(values) if not text or len(text) > max_length or SEPARATOR in text]

    return suspects


_PLAIN_DATES = _not_fully_matching(PLAIN_DATE.pattern)


def _not_plain_dates(values: list[str]) -> list[int]:
    distinct = list(set(values))  # a batch holds few distinct dates: each is tested once
    if _PLAIN_DATES(distinct) == _empty(distinct):
        suspects = _empty(values)
    else:
        suspects = _not_matching(PLAIN_DATE.fullmatch)(values)
        distinct = list(set(values).difference([values[i] for i in suspects]))
    try:
        deque(map(date.fromisoformat, filter(None, distinct)), maxlen=0)  # a plain-looking date may not exist
    except ValueError:
        return _all_cells(values)
    return suspects


def _not_plain_counts(maximum: int) -> Suspects:
    digits = len(str(maximum)) - 1  # any number of fewer digits is in range
    return _not_fully_matching(rf"[0-9]{{1,{digits}}}")


@dataclass(frozen=True)
class Column:
    parse: Callable[[str], str]
    suspects: Suspects  # the cells of a batch `parse` must see; the others are valid as they are
    required: bool = False
    pii: bool = False
    default: str | None = None
    free_text: bool = False  # may hold any character (the other columns hold checked forms only)
    # `suspects` passes no cell with spaces around it, so only suspect cells need stripping (text columns: all).
    strip_suspects_only: bool = True


def _text_column(max_length: int, **options: Any) -> Column:
    return Column(_text(max_length), _long_or_empty(max_length), strip_suspects_only=False, **options)


PLAIN_MONEY = _not_fully_matching(PLAIN_AMOUNT.pattern)
BORROWER_TYPES = frozenset(Loan.BorrowerType.values)
COLLATERAL_TYPES = frozenset(Loan.CollateralType.values)
LEGAL_STATUSES = frozenset(Loan.LegalStatus.values)

# The EBA NPL template's core, in tape order. PII columns go only to the vault.
COLUMNS: dict[str, Column] = {
    "loan_id": _text_column(64, required=True, free_text=True),
    "borrower_type": Column(_choice(Loan.BorrowerType), _not_in(BORROWER_TYPES), required=True),
    "borrower_id": _text_column(64, required=True, pii=True),
    "borrower_name": _text_column(200, required=True, pii=True),
    "national_id": Column(_identity, _not_fully_matching(PLAIN_IDENTITY.pattern), required=True, pii=True),
    "phone": _text_column(32, pii=True, default=""),
    "address": _text_column(300, pii=True, default=""),
    "region": _text_column(64, required=True, free_text=True),
    "currency": Column(_currency, _not_in(ISO_4217), required=True),
    "origination_date": Column(_date, _not_plain_dates, required=True),
    "origination_amount": Column(_money, PLAIN_MONEY, required=True),
    "principal_balance": Column(_money, PLAIN_MONEY, required=True),
    "accrued_interest": Column(_money, PLAIN_MONEY, default="0"),
    "other_balances": Column(_money, PLAIN_MONEY, default="0"),
    "total_claim": Column(_money, PLAIN_MONEY, required=True),
    "days_past_due": Column(_count(MAX_DPD), _not_plain_counts(MAX_DPD), required=True),
    "default_date": Column(_date, _not_plain_dates),
    # Every lower-case spelling in TRUE and FALSE is also one PostgreSQL's boolean input reads.
    "charged_off": Column(_flag, _not_in(TRUE | FALSE), default="false"),
    "charge_off_date": Column(_date, _not_plain_dates),
    "last_payment_date": Column(_date, _not_plain_dates),
    "last_payment_amount": Column(_money, PLAIN_MONEY),
    "interest_rate": Column(_rate, _not_fully_matching(PLAIN_RATE.pattern)),
    "collateral_type": Column(
        _choice(Loan.CollateralType),
        _not_in(COLLATERAL_TYPES),
        default=Loan.CollateralType.NONE.value,
    ),
    "collateral_value": Column(_money, PLAIN_MONEY),
    "guarantors": Column(_count(32_767), _not_plain_counts(32_767), default="0"),
    "legal_status": Column(_choice(Loan.LegalStatus), _not_in(LEGAL_STATUSES), default=Loan.LegalStatus.NONE.value),
    # Court case numbers lead to public judgments that name the parties, so they are kept in the vault too.
    "case_number": _text_column(64, pii=True, default=""),
    "credit_score_band": _text_column(16, default="", free_text=True),
}
REQUIRED = tuple(name for name, column in COLUMNS.items() if column.required)
PII = tuple(name for name, column in COLUMNS.items() if column.pii)
DATES_UP_TO_CUTOFF = ("origination_date", "default_date", "charge_off_date", "last_payment_date")
CASE_NUMBER_NEEDED = frozenset({Loan.LegalStatus.JUDGMENT.value, Loan.LegalStatus.ENFORCEMENT.value})

Issue = tuple[str, str, str]  # column, code, message
Plan = list[tuple[str, int, Column]]  # our column, its position in the file's rows (-1: absent), its spec


def header_positions(header: list[str], mapping: dict[str, str]) -> tuple[Plan, list[Issue]]:
    """Where each of our columns is in the file: a header cell is renamed by `mapping`, else taken as it is."""
    positions: dict[str, int] = {}
    issues: list[Issue] = []
    for index, cell in enumerate(header):
        name = mapping.get(cell.strip(), cell.strip())
        if name in COLUMNS:
            if name in positions:
                issues.append((name, "duplicate_column", _("Two columns of the file are this column.")))
            positions[name] = index
    for name in REQUIRED:
        if name not in positions:
            issues.append((name, "missing_column", _("The tape has no column for this required field.")))
    return [(name, positions.get(name, -1), column) for name, column in COLUMNS.items()], issues


def mapping_problems(mapping: Any) -> list[str]:
    """What is wrong with a seller's column mapping (their header → our column), as sentences."""
    if not isinstance(mapping, dict):
        return [_("The mapping is an object from your column headers to ours.")]
    problems = []
    for header, name in mapping.items():
        if name not in COLUMNS:
            problems.append(_("“%(header)s” maps to an unknown column “%(name)s”.") % {"header": header, "name": name})
    targets = list(mapping.values())
    for name in sorted({name for name in targets if targets.count(name) > 1}):
        problems.append(_("Several headers map to “%(name)s”.") % {"name": name})
    return problems


def batch_check(
    rows: list[list[str]], plan: Plan, *, cutoff: str, currency: str
) -> tuple[dict[str, list[str | None]], dict[int, list[Issue]]]:
    """Check a batch of rows column by column; return each column's values and the problems of each row.

    Values are text as COPY reads it (None: empty or bad); problems are keyed by the row's index in the batch.
    Working by column lets C code (regular expressions, set look-ups, joins) pass the valid cells in bulk, so
    only empty or suspicious cells reach a Python parser. `cutoff` is the portfolio's cut-off date, ISO.
    """
    count = len(rows)
    by_position = list(zip_longest(*rows, fillvalue=""))
    issues: dict[int, list[Issue]] = defaultdict(list)
    values: dict[str, list[str | None]] = {}
    for name, index, column in plan:
        present = 0 <= index < len(by_position)  # rows may stop before the header's last columns
        if not present:
            texts = [""] * count
        elif column.strip_suspects_only:
            texts = list(by_position[index])
        else:
            texts = list(map(str.strip, by_position[index]))
        parsed = cast(list[str | None], texts)  # valid cells stay as they are; the others are replaced in place
        for i in column.suspects(texts):
            text = texts[i].strip()
            if not text:
                if column.required:
                    issues[i].append((name, "required", _("This field is required.")))
                parsed[i] = column.default
                continue
            try:
                parsed[i] = column.parse(text)
            except CellError as error:
                issues[i].append((name, error.code, error.message))
                parsed[i] = None
        values[name] = parsed
    currencies = values["currency"]
    for i in [] if currencies.count(currency) == count else range(count):
        if currencies[i] and currencies[i] != currency:
            issues[i].append(("currency", "currency_mismatch", _("The portfolio is in %(c)s.") % {"c": currency}))
    for name in DATES_UP_TO_CUTOFF:
        if max(filter(None, values[name]), default="") > cutoff:
            for i, value in enumerate(values[name]):
                if value and value > cutoff:
                    issues[i].append((name, "after_cutoff", _("Later than the cut-off date %(d)s.") % {"d": cutoff}))
    _check_rows(values, issues, cutoff)
    return values, issues


def _check_rows(values: dict[str, list[str | None]], issues: dict[int, list[Issue]], cutoff: str) -> None:
    """Checks across the columns of a row.

    Each check first picks the rows it concerns with C-level maps over whole columns (itertools.compress), so that
    valid rows cost no Python bytecode; only the rows picked are looked at one by one.
    """
    cutoff_day = date.fromisoformat(cutoff).toordinal()
    default_dates = values["default_date"]
    days_since = {  # of each default date up to the cut-off; the others are checked as after_cutoff
        text: cutoff_day - date.fromisoformat(text).toordinal()
        for text in set(default_dates)
        if text and text <= cutoff
    }
    dpd_texts = values["days_past_due"]
    days_past_due = (
        list(map(int, dpd_texts))  # type: ignore[arg-type]
        if None not in dpd_texts
        else [MAX_DPD + 1 if text is None else int(text) for text in dpd_texts]  # a bad cell is not compared
    )
    days_needed = map(days_since.get, default_dates, repeat(-1))  # type: ignore[arg-type] # -1: nothing to compare
    for i in compress(count(), map(lt, days_past_due, days_needed)):  # type: ignore[arg-type]
        days_in_default = days_since[default_dates[i]]  # type: ignore[index]
        message = _("A loan in default since %(d)s is at least %(n)d days past due at the cut-off.")
        issues[i].append(("days_past_due", "dpd_inconsistent", message % {"d": default_dates[i], "n": days_in_default}))
    for i in compress(
        count(), map(and_, map(bool, values["charge_off_date"]), map(FALSE.__contains__, values["charged_off"]))
    ):
        issues[i].append(
            ("charged_off", "charge_off_inconsistent", _("A charge-off date is given but the flag is no."))
        )
    collateral_values = values["collateral_value"]
    unsecured = map(eq, repeat(Loan.CollateralType.NONE.value), values["collateral_type"])
    for i in compress(count(), map(and_, map(bool, collateral_values), unsecured)):
        if collateral_values[i].strip("0."):  # type: ignore[union-attr]
            issues[i].append(
                ("collateral_type", "collateral_inconsistent", _("A collateral value needs a collateral type."))
            )
    case_needed = map(CASE_NUMBER_NEEDED.__contains__, values["legal_status"])
    for i in compress(count(), map(and_, case_needed, map(not_, values["case_number"]))):
        issues[i].append(("case_number", "required", _("A judgment or enforcement needs its court case number.")))
