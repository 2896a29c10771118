from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The project's user from the first migration. Staff and customers alike sign in with it.

    A customer's shop record (`commerce.Customer`) links to a user when the
    customer has an account; guests have none.
    """

    email = models.EmailField("email address", unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email or self.username
