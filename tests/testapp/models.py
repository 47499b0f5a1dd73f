from django.db import models


class Project(models.Model):
    """Something people can support with their grains."""

    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title
