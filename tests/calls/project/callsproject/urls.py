from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path
from notes import views

urlpatterns = [
    path("", views.page),
    path("save/<str:text>/", views.save),
    path("count/", views.count),
]
urlpatterns += staticfiles_urlpatterns()
