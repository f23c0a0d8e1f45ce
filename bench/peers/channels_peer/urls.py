"""Plain HTTP: every path answers 200 "ok", for the readiness probe."""

from django.http import HttpResponse
from django.urls import re_path

urlpatterns = [re_path(r"", lambda request: HttpResponse("ok", content_type="text/plain"))]
