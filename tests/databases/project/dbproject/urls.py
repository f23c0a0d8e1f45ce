from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import include, path


def users(request):
    """A page of the site that queries."""
    return HttpResponse("%d users" % User.objects.count(), content_type="text/plain")


urlpatterns = [path("users/", users), path("clientsignal/", include("clientsignal.urls"))]
