from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SakaConfig(AppConfig):
    name = "django_saka"
    label = "django_saka"
    verbose_name = _("SAKA")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks, the receiver that returns a deleted user's
        # grains to the silo, and the one that sends cycle notifications.
        from . import checks, notifications, receivers  # noqa: F401
