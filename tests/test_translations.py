"""Every string a user sees is translated: the catalogues have no untranslated or fuzzy entry, the
placeholders agree (msgfmt --check-format), and the committed .mo files are compiled from the .po
files as they are (a forgotten `make messages` fails here, not in front of users).

The project catalogue is `locale/`; an app may keep its own (`<app>/locale/`, which makemessages
fills with the strings of that app's files): every catalogue found is checked."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

pytestmark = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext's msgfmt")

LANGS = ("zh_Hans", "en")


def catalogues() -> list[Path]:
    base = Path(settings.BASE_DIR)
    found = [base / "locale" / lang / "LC_MESSAGES" / "django.po" for lang in LANGS]
    found += sorted(po for lang in LANGS for po in base.glob(f"*/locale/{lang}/LC_MESSAGES/django.po"))
    return found


CATALOGUES = catalogues()


def test_every_app_catalogue_has_both_languages():
    for po in CATALOGUES:
        for lang in LANGS:
            assert (po.parents[2] / lang / "LC_MESSAGES" / "django.po").exists(), f"{po}: no {lang} catalogue"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_catalogue_is_complete_and_well_formed(po):
    result = subprocess.run(
        ["msgfmt", "--check-format", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_committed_mo_is_compiled_from_the_po(po, tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True)
    assert fresh.read_bytes() == po.with_suffix(".mo").read_bytes(), f"run `make messages` for {po}"


def test_chinese_is_the_default_and_pages_are_translated(client_for, owner):
    assert settings.LANGUAGE_CODE == "zh-hans"
    body = client_for(owner).get("/service/").content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("Service requests") in body
    assert "Service requests" not in body
