from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

# What a web server in front would do with Vite's output: index.html and its assets.
urlpatterns = [
    path("", serve, {"path": "index.html", "document_root": settings.VITE_DIST}),
    re_path(r"^(?P<path>assets/.+)$", serve, {"document_root": settings.VITE_DIST}),
]
