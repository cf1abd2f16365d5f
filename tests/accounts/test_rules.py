"""Identity-number checksums, document sniffing and professional thresholds (property-tested)."""

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from accounts import rules


def resident_id(born: date, sequence: int = 123, region: str = "110101") -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + rules.resident_id_check_digit(first17)


@given(born=st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)), sequence=st.integers(0, 999))
def test_generated_resident_ids_are_valid_and_any_single_digit_change_is_caught(born, sequence):
    number = resident_id(born, sequence)
    assert rules.resident_id_is_valid(number, date_of_birth=born)
    for position in range(17):
        digit = (int(number[position]) + 1) % 10
        assert not rules.resident_id_is_valid(number[:position] + str(digit) + number[position + 1 :])


def test_resident_id_must_match_the_declared_birth_date_and_shape():
    number = resident_id(date(1988, 2, 29))
    assert not rules.resident_id_is_valid(number, date_of_birth=date(1988, 3, 1))
    assert not rules.resident_id_is_valid(number[:-1])
    assert not rules.resident_id_is_valid("11010119881340123X")  # month 13


@given(st.text(alphabet=rules.USCC_ALPHABET, min_size=17, max_size=17))
def test_unified_social_credit_codes_with_their_check_character_validate(first17):
    code = first17 + rules.uscc_check_character(first17)
    assert rules.uscc_is_valid(code)
    wrong = next(c for c in rules.USCC_ALPHABET if c != code[-1])
    assert not rules.uscc_is_valid(code[:-1] + wrong)


def test_known_public_credit_code_validates():
    assert rules.uscc_is_valid("91350100M000100Y43")  # the worked example of GB 32100-2015


def test_documents_are_recognised_by_content_and_name_together():
    assert rules.sniff_document_type(b"%PDF-1.7\n", "id.pdf") == "application/pdf"
    assert rules.sniff_document_type(b"\x89PNG\r\n\x1a\n....", "scan.PNG") == "image/png"
    assert rules.sniff_document_type(b"\xff\xd8\xff\xe0", "photo.jpeg") == "image/jpeg"
    assert rules.sniff_document_type(b"<html><script>", "id.pdf") is None  # forged extension
    assert rules.sniff_document_type(b"%PDF-1.7\n", "id.exe") is None
    assert rules.sniff_document_type(b"MZ\x90\x00", "id.png") is None


def test_professional_thresholds():
    met = rules.professional_basis_met
    assert met(basis="experience_net_assets", experience_years=2, household_net_financial_assets=Decimal("3000000"))
    assert not met(basis="experience_net_assets", experience_years=1, household_net_financial_assets=Decimal("9e6"))
    assert not met(
        basis="experience_net_assets", experience_years=5, household_net_financial_assets=Decimal("2999999.99")
    )
    assert met(basis="financial_assets", financial_assets=Decimal("5000000"))
    assert not met(basis="financial_assets", financial_assets=None)
    assert met(basis="income", average_annual_income=Decimal("400000.00"))
    assert not met(basis="income", average_annual_income=Decimal("399999.99"))
    assert not met(basis="nonsense")
