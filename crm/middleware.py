"""Middleware for what every authenticated response needs (issue 15)."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

SESSION_TOUCHED = "_touched"
# How often a session's expiry is pushed forward: once a minute costs one UPDATE per user per
# minute instead of one per request; the idle timeout is then exact to within that minute.
TOUCH_EVERY_SECONDS = 60


def passive(view: Callable) -> Callable:
    """Mark a view that pages poll by themselves (htmx `every 1s`): such a request is not the user's
    activity, so it does not keep an idle session alive."""
    view.passive_request = True  # type: ignore[attr-defined]
    return view


class AuthenticatedResponseMiddleware:
    """For a logged-in user:

    - `Cache-Control: private, no-store` on every response, so that neither a shared cache nor the
      browser's history keeps confidential pages after logout (static files are answered by
      WhiteNoise before this runs, the health check is anonymous);
    - a sliding idle timeout: the session expires SESSION_COOKIE_AGE (SESSION_IDLE_MINUTES) after
      the user's last request, not after its login (shared office PCs).

    Sits below AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        authenticated = request.user.is_authenticated
        response = self.get_response(request)
        if authenticated or request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        if authenticated and request.user.is_authenticated and not getattr(request, "_passive", False):
            self._touch(request)
        return response

    def process_view(self, request: HttpRequest, view_func: Callable, view_args, view_kwargs) -> None:
        request._passive = getattr(view_func, "passive_request", False)  # type: ignore[attr-defined]

    @staticmethod
    def _touch(request: HttpRequest) -> None:
        now = int(time.time())
        if now - int(request.session.get(SESSION_TOUCHED, 0)) >= TOUCH_EVERY_SECONDS:
            # A modified session is saved by SessionMiddleware with a fresh expiry date.
            request.session[SESSION_TOUCHED] = now
