from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from .connections import saved
from .models import Note


class RolledBack(Exception):
    pass


def page(request):
    return render(request, "notes/page.html")


def save(request, text):
    """Save a note and announce it, in one transaction; ?rollback=1 rolls it back."""
    try:
        with transaction.atomic():
            Note.objects.create(text=text)
            saved.send(sender=None, text=text)
            if request.GET.get("rollback"):
                raise RolledBack()
    except RolledBack:
        return HttpResponse("rolled back")
    return HttpResponse("saved")


def count(request):
    return JsonResponse({"texts": list(Note.objects.values_list("text", flat=True))})
