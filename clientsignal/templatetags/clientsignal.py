"""``{% clientsignal_js %}``: the script tags of sockjs-client and the SignalSocket client."""

from __future__ import annotations

from typing import Any

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import conf

register = template.Library()


@register.simple_tag(takes_context=True)
def clientsignal_js(context: template.Context, nonce: Any = None) -> SafeString:
    """``<script>`` elements for sockjs-client (``CLIENTSIGNAL_SOCKJS_URL``, by default our
    static copy) and ``clientsignal.js``, through Django's static files storage. With
    ``CLIENTSIGNAL_MULTIPLEX`` set, the client script carries its prefix (``data-multiplex``)
    and every ``SignalSocket`` of the page shares one SockJS session.

    Under a Content Security Policy that allows scripts by nonce (``script-src 'nonce-…'``),
    both carry the nonce: given as ``{% clientsignal_js nonce=… %}``, or else the request's
    ``csp_nonce`` (Django 6's ``ContentSecurityPolicyMiddleware``, django-csp) when the
    template has the request."""
    if nonce is None:
        # A RequestContext has the request whatever its context processors.
        request = getattr(context, "request", None) or context.get("request")
        nonce = getattr(request, "csp_nonce", None) if request is not None else None
    nonce_attribute = format_html(' nonce="{}"', nonce) if nonce else ""
    multiplex = conf.multiplex()
    attribute = format_html(' data-multiplex="{}"', multiplex) if multiplex else ""
    return format_html(
        '<script src="{}"{}></script>\n<script src="{}"{}{}></script>',
        conf.sockjs_url(),
        nonce_attribute,
        static(conf.CLIENT_STATIC_PATH),
        nonce_attribute,
        attribute,
    )
