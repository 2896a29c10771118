"""JSON API `/api/v1/knowledge/`: documents (list, add, read, update, remove), re-sync of an uploaded
list of documents, and the report of questions the FAQ specialist could not answer.

For operators: a signed-in staff user with the knowledge permissions of the
operator role (view / add / change / delete document). One class per
operation: validate, call one service or selector, serialize. Indexing
(chunking and embedding) runs in Celery after the request's transaction commits;
a document reads `pending` until then. Nothing is fetched from the network: a
document's URI is its citation, its content comes in the request.
"""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ApplicationError

from . import selectors, services
from .models import Document, DocumentFormat

SAFE = "GET"


class KnowledgePermission(BasePermission):
    """The Django permission each method needs (the operator role has them all); no staff flag, no access."""

    required = {
        "GET": ("knowledge.view_document",),
        "POST": ("knowledge.add_document",),
        "PUT": ("knowledge.change_document",),
        "DELETE": ("knowledge.delete_document",),
    }

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        needed = getattr(view, "required_permissions", {}).get(request.method) or self.required.get(request.method)
        return bool(user and user.is_authenticated and user.is_staff and needed and user.has_perms(needed))


class DocumentOut(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField(source="source.name")
    uri = serializers.CharField()
    title = serializers.CharField()
    format = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    is_active = serializers.BooleanField()
    version = serializers.IntegerField()
    indexed_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class DocumentDetailOut(DocumentOut):
    content = serializers.CharField(source="raw_content")
    chunks = serializers.IntegerField(source="chunk_count")


class DocumentIn(serializers.Serializer):
    source = serializers.SlugField(max_length=80)
    uri = serializers.CharField(max_length=1000, help_text="The page's URL (what citations show), or a path.")
    format = serializers.ChoiceField(choices=DocumentFormat.choices)
    content = serializers.CharField(trim_whitespace=False)
    title = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)


class DocumentUpdateIn(serializers.Serializer):
    content = serializers.CharField(trim_whitespace=False)
    format = serializers.ChoiceField(choices=DocumentFormat.choices, required=False, default="")
    title = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, allow_null=True)


class UpsertOut(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["created", "changed", "stale", "unchanged", "duplicate"])
    document = DocumentOut()


class SyncItemIn(serializers.Serializer):
    uri = serializers.CharField(max_length=1000)
    format = serializers.ChoiceField(choices=DocumentFormat.choices)
    content = serializers.CharField(trim_whitespace=False)
    title = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)


class SyncIn(serializers.Serializer):
    source = serializers.SlugField(max_length=80)
    documents = SyncItemIn(many=True, allow_empty=True)
    prune = serializers.BooleanField(default=False, help_text="Delete the source's documents not in the list.")


SyncOut = inline_serializer(
    "KnowledgeSync",
    {
        "created": serializers.IntegerField(),
        "changed": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "deleted": serializers.IntegerField(),
        "document_ids": serializers.ListField(child=serializers.IntegerField()),
    },
)


class QuestionGroupOut(serializers.Serializer):
    question = serializers.CharField()
    count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField())
    last_asked = serializers.DateTimeField()
    best_score = serializers.FloatField(allow_null=True)


def _error(exc: ApplicationError) -> Response:
    return Response({"error": {"code": exc.code, "message": exc.message}}, status=status.HTTP_400_BAD_REQUEST)


class DocumentListAPI(APIView):
    permission_classes = [KnowledgePermission]

    @extend_schema(
        parameters=[OpenApiParameter("source", str, description="Only this source's documents")],
        responses=DocumentOut(many=True),
    )
    def get(self, request: Request) -> Response:
        documents = Document.objects.select_related("source").order_by("source__name", "uri")
        if request.query_params.get("source"):
            documents = documents.filter(source__name=request.query_params["source"])
        return Response(DocumentOut(documents[:1000], many=True).data)

    @extend_schema(request=DocumentIn, responses={201: UpsertOut, 200: UpsertOut})
    def post(self, request: Request) -> Response:
        data = DocumentIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            result = services.document_put(
                source_name=values["source"],
                uri=values["uri"],
                format=values["format"],
                content=values["content"],
                title=values["title"],
                tags=values["tags"],
            )
        except ApplicationError as exc:
            return _error(exc)
        code = status.HTTP_201_CREATED if result.outcome == "created" else status.HTTP_200_OK
        return Response({"outcome": result.outcome, "document": DocumentOut(result.document).data}, status=code)


class DocumentDetailAPI(APIView):
    permission_classes = [KnowledgePermission]

    def _document(self, pk: int) -> Document:
        return get_object_or_404(Document.objects.select_related("source"), pk=pk)

    @extend_schema(responses=DocumentDetailOut)
    def get(self, request: Request, pk: int) -> Response:
        document = self._document(pk)
        document.chunk_count = document.chunks.count()  # type: ignore[attr-defined]
        return Response(DocumentDetailOut(document).data)

    @extend_schema(request=DocumentUpdateIn, responses=UpsertOut)
    def put(self, request: Request, pk: int) -> Response:
        document = self._document(pk)
        data = DocumentUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            result = services.document_update(
                document=document,
                content=values["content"],
                format=values["format"],
                title=values["title"],
                tags=values.get("tags"),
            )
        except ApplicationError as exc:
            return _error(exc)
        return Response({"outcome": result.outcome, "document": DocumentOut(result.document).data})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.documents_delete(document_ids=[self._document(pk).pk])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SyncAPI(APIView):
    """Replace a source's documents with an uploaded list (pages saved with their URLs; nothing is crawled)."""

    permission_classes = [KnowledgePermission]
    required_permissions = {
        "POST": ("knowledge.add_document", "knowledge.change_document", "knowledge.delete_document")
    }

    @extend_schema(request=SyncIn, responses=SyncOut)
    def post(self, request: Request) -> Response:
        data = SyncIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            report = services.documents_sync(
                source_name=values["source"], items=values["documents"], prune=values["prune"]
            )
        except ApplicationError as exc:
            return _error(exc)
        return Response(
            {
                "created": report.created,
                "changed": report.changed,
                "unchanged": report.unchanged,
                "duplicates": report.duplicates,
                "deleted": report.deleted,
                "document_ids": report.document_ids,
            }
        )


class GapsAPI(APIView):
    """Questions the FAQ specialist could not answer, grouped by meaning, largest groups first."""

    permission_classes = [KnowledgePermission]

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="Look back this many days (default 30)")],
        responses=QuestionGroupOut(many=True),
    )
    def get(self, request: Request) -> Response:
        try:
            days = max(1, min(int(request.query_params.get("days", 30)), 3650))
        except ValueError:
            return _error(ApplicationError("days must be a whole number", code="invalid"))
        groups = selectors.unanswered_questions_report(since=timezone.now() - timedelta(days=days))
        return Response(QuestionGroupOut(groups, many=True).data)
