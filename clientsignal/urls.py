"""``path("clientsignal/", include("clientsignal.urls"))``: the stats views."""

from django.urls import path

from . import views

app_name = "clientsignal"
urlpatterns = [
    path("stats.json", views.stats_json, name="stats-json"),
    path("metrics", views.stats_prometheus, name="metrics"),
    path("stats/", views.stats_page, name="stats"),
]
