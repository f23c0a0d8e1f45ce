from django.conf import settings
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path, re_path
from django.views.generic import TemplateView
from django.views.static import serve

urlpatterns = [path("", TemplateView.as_view(template_name="pingapp/index.html"))]
if settings.DEBUG:
    urlpatterns += staticfiles_urlpatterns()
else:
    # What a web server in front would do: the collected, hashed files of STATIC_ROOT.
    urlpatterns += [
        re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT})
    ]
