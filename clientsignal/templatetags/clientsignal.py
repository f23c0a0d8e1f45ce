"""``{% clientsignal_js %}``: the script tags of sockjs-client and the SignalSocket client."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import conf

register = template.Library()


@register.simple_tag
def clientsignal_js() -> SafeString:
    """``<script>`` elements for sockjs-client (``CLIENTSIGNAL_SOCKJS_URL``, by default our
    static copy) and ``clientsignal.js``, through Django's static files storage. With
    ``CLIENTSIGNAL_MULTIPLEX`` set, the client script carries its prefix (``data-multiplex``)
    and every ``SignalSocket`` of the page shares one SockJS session."""
    multiplex = conf.multiplex()
    attribute = format_html(' data-multiplex="{}"', multiplex) if multiplex else ""
    return format_html(
        '<script src="{}"></script>\n<script src="{}"{}></script>',
        conf.sockjs_url(),
        static(conf.CLIENT_STATIC_PATH),
        attribute,
    )
