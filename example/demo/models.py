from django.db import models


class Initiative(models.Model):
    """Something members plant their grains on (a spend ``target``)."""

    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title
