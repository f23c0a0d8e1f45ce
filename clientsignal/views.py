"""Stats views: JSON and Prometheus text, summed over every process with the Redis backend.

Staff users may read them, and so may a client presenting ``CLIENTSIGNAL_STATS_TOKEN`` as a
bearer token (for a Prometheus scraper).
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse

from . import conf, stats


def _allowed(request: HttpRequest) -> bool:
    token = conf.get("CLIENTSIGNAL_STATS_TOKEN")
    # Compared as bytes: a header with non-ASCII characters is simply not the token.
    header = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if token and hmac.compare_digest(header, ("Bearer " + token).encode("utf-8")):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def stats_json(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponseForbidden("Staff or CLIENTSIGNAL_STATS_TOKEN only.")
    return JsonResponse(stats.totals())


def stats_prometheus(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponseForbidden("Staff or CLIENTSIGNAL_STATS_TOKEN only.")
    return HttpResponse(stats.prometheus(stats.totals()), content_type="text/plain; version=0.0.4")


def stats_page(request: HttpRequest) -> HttpResponse:
    """The live page: the totals, updated over a SignalSocket (StatsConnection)."""
    from django.contrib.admin.views.decorators import staff_member_required
    from django.shortcuts import render

    def page(request: HttpRequest) -> HttpResponse:
        prefix = next(
            (p for p, path in conf.connections().items() if str(path).endswith("StatsConnection")),
            None,
        )
        return render(
            request, "clientsignal/stats.html", {"totals": stats.totals(), "socket_prefix": prefix}
        )

    return staff_member_required(page)(request)
