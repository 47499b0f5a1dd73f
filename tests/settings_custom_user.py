"""The test settings with a custom user model keyed by a column other than ``id``."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [  # noqa: F405 (from the star import)
    app for app in INSTALLED_APPS if app not in ("django.contrib.admin",)  # noqa: F405
] + ["tests.customuser"]
AUTH_USER_MODEL = "customuser.Member"
ROOT_URLCONF = "tests.urls_empty"
