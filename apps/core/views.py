from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import readiness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Never touches a dependency."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: PostgreSQL, the pgvector extension, Redis and a Celery worker."""
    ok, components = readiness()
    return JsonResponse({"status": "ok" if ok else "unavailable", "components": components}, status=200 if ok else 503)
