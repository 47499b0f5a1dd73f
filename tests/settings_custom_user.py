"""The test settings with a custom user model keyed by a column other than ``id``."""

from tests import settings as base
from tests.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in base.INSTALLED_APPS if app != "django.contrib.admin"]
INSTALLED_APPS.append("tests.customuser")
AUTH_USER_MODEL = "customuser.Member"
ROOT_URLCONF = "tests.urls_empty"
