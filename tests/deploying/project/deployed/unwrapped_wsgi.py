"""The mistake tests/deploying/test_startup_warnings.py makes on purpose: Django's own WSGI
application, not wrapped in ClientSignalMiddleware, while CLIENTSIGNAL_CONNECTIONS is set."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deployed.settings")
application = get_wsgi_application()
