from django.urls import include, path

from . import views

urlpatterns = [
    path("login/<str:name>/", views.login_view),
    path("logout/", views.logout_view),
    path("touch/", views.touch_view),
    path("dm/<str:name>/", views.dm_view),
    path("page/", views.page_view),
    path("clientsignal/", include("clientsignal.urls")),
]
