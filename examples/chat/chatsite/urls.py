from chat.views import room
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

urlpatterns = [
    path("", room, name="lobby"),
    path("rooms/<int:room_id>/", room, name="room"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("admin/", admin.site.urls),
    path("clientsignal/", include("clientsignal.urls")),
]
urlpatterns += staticfiles_urlpatterns()
