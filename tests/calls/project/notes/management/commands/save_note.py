"""Save a note and announce it from a process that serves no socket (a task, a command)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from notes.connections import saved
from notes.models import Note


class RolledBack(Exception):
    pass


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("text")
        parser.add_argument("--rollback", action="store_true")

    def handle(self, text, rollback, **options):
        try:
            with transaction.atomic():
                Note.objects.create(text=text)
                saved.send(sender=None, text=text)
                if rollback:
                    raise RolledBack()
        except RolledBack:
            self.stdout.write("rolled back")
