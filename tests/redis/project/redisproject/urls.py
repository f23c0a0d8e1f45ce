from django.urls import include, path

urlpatterns = [path("clientsignal/", include("clientsignal.urls"))]
