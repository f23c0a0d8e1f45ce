from django.db import models


class Message(models.Model):
    """One line said in a room."""

    room = models.IntegerField(db_index=True)
    author = models.CharField(max_length=64)
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
