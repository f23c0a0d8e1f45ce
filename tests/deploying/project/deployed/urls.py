from django.urls import path
from django.views.generic import TemplateView

# No static files here: in production they are served in front of Django (nginx or WhiteNoise).
urlpatterns = [path("", TemplateView.as_view(template_name="deployed/index.html"))]
