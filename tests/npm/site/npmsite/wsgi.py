import os

from django.core.wsgi import get_wsgi_application

from clientsignal.wsgi import ClientSignalMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "npmsite.settings")

application = ClientSignalMiddleware(get_wsgi_application())
