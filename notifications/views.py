"""The user's in-app notifications."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from .selectors import notifications_for
from .services import notification_mark_read

PAGE_SIZE = 25


def _safe_relative(url: str, request: HttpRequest) -> bool:
    """Only a path on this site: "/pool/…", never "//host" or "https://elsewhere"."""
    return (
        bool(url)
        and url.startswith("/")
        and not url.startswith("//")
        and "\\" not in url
        and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    )


@require_http_methods(["GET", "HEAD"])
def notification_list(request: HttpRequest) -> HttpResponse:
    qs = notifications_for(request.user).order_by("-created_at", "-id")
    # get_page() answers a malformed or out-of-range ?page= with the first or last page.
    page_obj = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    has_unread = notifications_for(request.user).filter(read_at__isnull=True).exists()
    return render(request, "notifications/list.html", {"page_obj": page_obj, "has_unread": has_unread})


@require_POST
def read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(notifications_for(request.user), pk=pk)
    notification_mark_read(user=request.user, notification_id=notification.pk)
    if _safe_relative(notification.url, request):
        return HttpResponseRedirect(notification.url)
    return redirect("notifications:list")


@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    n = notification_mark_read(user=request.user)
    if n:
        messages.success(
            request,
            ngettext("%(n)d notification marked as read.", "%(n)d notifications marked as read.", n) % {"n": n},
        )
    else:
        messages.info(request, _("No unread notifications."))
    return redirect("notifications:list")
