"""Password rules beyond Django's own (settings.AUTH_PASSWORD_VALIDATORS)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# What people put around a name to pass a length rule: digits, punctuation, spaces.
_FILLER = re.compile(r"[\W\d_]*", re.UNICODE)


class UsernameVariantValidator:
    """Refuses the username (or the e-mail's name part) with only digits or symbols around or
    between it: "zhangwei2026", "Zhangwei@123456", "2026.zhangwei!". Django's similarity check
    lets these through once the digits make the password long enough."""

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        names = {getattr(user, "username", "") or "", (getattr(user, "email", "") or "").partition("@")[0]}
        folded = password.casefold()
        for name in {n.casefold() for n in names if len(n) >= 3}:
            if name in folded and _FILLER.fullmatch(folded.replace(name, "")):
                raise ValidationError(
                    _("The password is your username with digits or symbols added; choose one that is not."),
                    code="password_username_variant",
                )

    def get_help_text(self) -> str:
        return _("Your password can't be your username with digits or symbols added.")
