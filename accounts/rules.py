"""Pure verification rules, no I/O: identity-number checksums, document sniffing, professional thresholds."""

import re
from datetime import date
from decimal import Decimal

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PASSPORT_PATTERN = re.compile(r"^[A-Z0-9]{6,20}$")
GENERIC_REGISTRATION_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,30}$")

PROFESSIONAL_NET_FINANCIAL_ASSETS = Decimal("3000000")
PROFESSIONAL_FINANCIAL_ASSETS = Decimal("5000000")
PROFESSIONAL_ANNUAL_INCOME = Decimal("400000")
PROFESSIONAL_EXPERIENCE_YEARS = 2
ADULT_AGE = 18

# Magic numbers of the document types we accept, with the file extensions each may carry.
DOCUMENT_SIGNATURES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}


def resident_id_check_digit(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of a PRC resident identity number."""
    return RESIDENT_ID_CHECK[sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True)) % 11]


def resident_id_is_valid(number: str, *, date_of_birth: date | None = None) -> bool:
    """18 characters, a real birth date inside (matching `date_of_birth` if given), the right check digit."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if date_of_birth is not None and born != date_of_birth:
        return False
    return resident_id_check_digit(number[:17]) == number[17]


def uscc_check_character(first17: str) -> str:
    """GB 32100 check character of a PRC unified social credit code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


def passport_number_is_valid(number: str) -> bool:
    return bool(PASSPORT_PATTERN.fullmatch(number))


def registration_number_is_valid(number: str, *, country: str) -> bool:
    return uscc_is_valid(number) if country == "CN" else bool(GENERIC_REGISTRATION_PATTERN.fullmatch(number))


def age_on(day: date, *, born: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def sniff_document_type(head: bytes, filename: str) -> str | None:
    """The content type proven by the file's first bytes, if its name's extension agrees; else None."""
    name = filename.lower()
    for content_type, (magic, extensions) in DOCUMENT_SIGNATURES.items():
        if head.startswith(magic) and name.endswith(extensions):
            return content_type
    return None


def professional_basis_met(
    *,
    basis: str,
    experience_years: int = 0,
    household_net_financial_assets: Decimal | None = None,
    financial_assets: Decimal | None = None,
    average_annual_income: Decimal | None = None,
) -> bool:
    """Whether the declared figures meet the threshold of the chosen basis (institutions are judged by KYC)."""
    if basis == "experience_net_assets":
        return (
            experience_years >= PROFESSIONAL_EXPERIENCE_YEARS
            and (household_net_financial_assets or Decimal(0)) >= PROFESSIONAL_NET_FINANCIAL_ASSETS
        )
    if basis == "financial_assets":
        return (financial_assets or Decimal(0)) >= PROFESSIONAL_FINANCIAL_ASSETS
    if basis == "income":
        return (average_annual_income or Decimal(0)) >= PROFESSIONAL_ANNUAL_INCOME
    return basis == "institution"


CENT = Decimal("0.01")


def knowledge_score(answers: list[int], correct: list[int]) -> Decimal:
    """Share of right answers, 0 to 1, three places."""
    right = sum(given == expected for given, expected in zip(answers, correct, strict=True))
    return (Decimal(right) / Decimal(len(correct))).quantize(Decimal("0.001"))


def retail_exposure_cap(*, declared_net_worth: Decimal, platform_limit: Decimal, net_worth_share: Decimal) -> Decimal:
    """The most a retail buyer may have committed at once: the lower of the platform limit and a share of net worth."""
    return min(platform_limit, (declared_net_worth * net_worth_share).quantize(CENT)).max(Decimal(0))


def loss_share_of_net_worth(*, stake: Decimal, declared_net_worth: Decimal) -> Decimal | None:
    """Losing `stake` entirely, as a percentage of net worth (None when no net worth was declared)."""
    if declared_net_worth <= 0:
        return None
    return (stake / declared_net_worth * 100).quantize(Decimal("0.1"))
