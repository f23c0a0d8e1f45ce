from pathlib import Path

from django.urls import include, path, re_path
from django.views.static import serve

import clientsignal

from . import views

STATIC = Path(clientsignal.__file__).parent / "static"

urlpatterns = [
    path("login/<str:name>/", views.login_view),
    path("logout/", views.logout_view),
    path("touch/", views.touch_view),
    path("dm/<str:name>/", views.dm_view),
    path("to-connection/<str:connection_id>/", views.to_connection_view),
    path("page/", views.page_view),
    path("pages/history/", views.history_page),
    path("sockets/", views.sockets_view),
    path("password/", views.password_view),
    path("deactivate/<str:name>/", views.deactivate_view),
    path("sessions/delete/<str:name>/", views.delete_sessions_view),
    path("clientsignal/", include("clientsignal.urls")),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": STATIC}),
]
