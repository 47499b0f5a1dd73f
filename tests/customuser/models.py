"""A custom user model whose primary-key column is not ``id`` (settings_custom_user.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class MemberManager(BaseUserManager):
    def create_user(self, username: str, password: str | None = None, **extra: Any) -> Any:
        member = self.model(username=username, **extra)
        member.set_password(password)
        member.save(using=self._db)
        return member


class Member(AbstractBaseUser):
    member_key = models.BigAutoField(primary_key=True, db_column="member_key")
    username = models.CharField(max_length=150, unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "username"
    objects = MemberManager()

    def __str__(self) -> str:
        return self.username
