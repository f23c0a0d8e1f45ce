from django.contrib.auth.decorators import login_required
from django.shortcuts import render

ROOMS = range(1, 4)


@login_required
def room(request, room_id=1):
    return render(request, "chat/room.html", {"room_id": room_id, "rooms": ROOMS})
