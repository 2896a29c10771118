from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict[str, str]:
    return {"SHOP_NAME": settings.SHOP_NAME}
