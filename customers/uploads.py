"""Checks of an uploaded customer document (R4.1): its type comes from its first bytes, never from
its name or the browser's content type, and the uploader's file name is only ever displayed."""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

# Signature → (content type, extension). Anything else (HTML, SVG, scripts, archives, office
# files renamed to .pdf ...) is refused.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
SNIFF_BYTES = 16
MAX_NAME_LENGTH = 150
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]+')


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str


def sniff(head: bytes) -> FileType | None:
    """The file's type from its first bytes, or None when it is not an accepted type."""
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return FileType(content_type, extension)
    return None


def sanitize_filename(name: str, *, extension: str) -> str:
    """A display name from the uploader's file name: no directories, no control or reserved
    characters, at most 150 characters, ending in the extension of the detected type.

    "../../etc/passwd.pdf" → "passwd.pdf"; "营业执照.PDF" → "营业执照.pdf"; "" → "document.pdf".
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    name = PurePosixPath(name.replace("\\", "/")).name  # the last path component only
    # Format characters (bidi overrides such as U+202E, zero-width ones), C1 controls and line
    # separators could make "licence\u202Eexe.pdf" display as "licencefdp.exe".
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    name = _UNSAFE.sub("_", name).strip(" ._")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" ._")[: MAX_NAME_LENGTH - len(extension)]
    return (stem or "document") + extension
