"""R4.1: the unified social credit code (GB 32100-2015) and the R5.1 normalisations."""

import pytest
from django.core.exceptions import ValidationError

from customers.validators import (
    credit_code_check_char,
    normalize_company_name,
    normalize_credit_code,
    normalize_phone,
    validate_credit_code,
)

VALID = ["91350100M000100Y43", "91110000600037341L", "9144030070846113X2"]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass(code):
    validate_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "check"),  # wrong check character
        ("91350100M000100Y4", "length"),  # 17 characters
        ("91350100M000100Y433", "length"),  # 19 characters
        ("91350100m000100y43", "charset"),  # lower case (the form upper-cases first)
        ("91350100I000100Y43", "charset"),  # I
        ("91350100O000100Y43", "charset"),  # O
        ("91350100Z000100Y43", "charset"),  # Z
        ("91350100S000100Y43", "charset"),  # S
        ("91350100V000100Y43", "charset"),  # V
        ("", "length"),
    ],
)
def test_invalid_codes_say_why(code, why):
    with pytest.raises(ValidationError) as err:
        validate_credit_code(code)
    assert err.value.code == why


def test_normalisations():
    assert normalize_credit_code(" ９１３５０１００m０００１００y４３ ") == "91350100M000100Y43"
    assert normalize_company_name("深圳市 华为技术（有限）公司") == normalize_company_name("深圳市华为技术(有限)公司")
    assert normalize_company_name("ABC Trading Co., Ltd.") == normalize_company_name("abc trading co ltd")
    assert normalize_phone("+86 138-0013-8000") == "13800138000"
    assert normalize_phone("0086 13800138000") == "13800138000"
    assert normalize_phone("0755-2600 1234") == "075526001234"
