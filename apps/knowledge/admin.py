"""Operators manage the knowledge base here: upload documents, re-index, deactivate.

Thin: the upload view and the re-index action call one service each; indexing
(chunking and embedding) runs in Celery after commit.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.core.errors import ApplicationError

from .models import Chunk, Document, KnowledgeSource
from .services import SUFFIX_FORMATS, document_upload, documents_delete, documents_reindex, source_get_or_create


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(SUFFIX_FORMATS)}))
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self, data: object, initial: object = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    source = forms.SlugField(initial="uploads", help_text="Knowledge source name; created if new.")
    files = MultipleFileField(help_text="Markdown (.md), HTML (.html) or text (.txt), UTF-8.")
    url = forms.URLField(
        required=False, assume_scheme="https", help_text="The page's public URL, for citations (one file only)."
    )
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. returns, shipping.")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("url") and len(data.get("files") or []) > 1:
            raise forms.ValidationError("A URL can be given for one file only.")
        return data


class ChunkInline(admin.TabularInline):
    model = Chunk
    fields = ("position", "heading_path", "token_count", "text")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(KnowledgeSource)
class KnowledgeSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "document_count", "created_at")
    search_fields = ("name", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[KnowledgeSource]:
        return super().get_queryset(request).annotate(_documents=Count("documents"))

    @admin.display(description="documents", ordering="_documents")
    def document_count(self, obj: KnowledgeSource) -> int:
        return obj._documents  # type: ignore[attr-defined]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    change_list_template = "admin/knowledge/document/change_list.html"
    list_display = ("title", "source", "uri", "status", "is_active", "version", "chunk_count", "indexed_at")
    list_filter = ("status", "is_active", "source", "format", "embedding_model")
    search_fields = ("title", "uri")
    list_select_related = ("source",)
    actions = ("reindex_selected",)
    inlines = (ChunkInline,)
    fields = (
        "title",
        "source",
        "uri",
        "format",
        "is_active",
        "tags",
        "status",
        "version",
        "content_hash",
        "indexed_hash",
        "index_signature",
        "embedding_model",
        "indexed_at",
        "error",
        "raw_content",
    )
    # Only the curation fields are edited here; content changes go through ingestion.
    readonly_fields = tuple(f for f in fields if f not in {"title", "is_active", "tags"})

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Documents are added by upload (stored, then indexed by Celery), not by the bare form.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).annotate(_chunks=Count("chunks"))

    @admin.display(description="chunks", ordering="_chunks")
    def chunk_count(self, obj: Document) -> int:
        return obj._chunks  # type: ignore[attr-defined]

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        documents_delete(document_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        documents_delete(document_ids=list(queryset.values_list("pk", flat=True)))

    @admin.action(description="Re-index selected documents (re-chunk and re-embed in the background)")
    def reindex_selected(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        count = documents_reindex(document_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} document(s) queued for re-indexing.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="knowledge_document_upload",
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("knowledge.add_document"):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            tags = [t.strip() for t in form.cleaned_data["tags"].split(",") if t.strip()]
            outcomes: list[str] = []
            errors: list[str] = []
            with transaction.atomic():
                source = source_get_or_create(name=form.cleaned_data["source"])
                for upload in form.cleaned_data["files"]:
                    try:
                        result = document_upload(
                            source=source,
                            filename=upload.name,
                            content=upload.read(),
                            url=form.cleaned_data["url"],
                            tags=tags,
                        )
                    except ApplicationError as exc:
                        errors.append(exc.message)
                        continue
                    outcomes.append(f"{upload.name}: {result.outcome}")
            for error in errors:
                self.message_user(request, error, messages.ERROR)
            if outcomes:
                self.message_user(
                    request, "Stored; indexing runs in the background. " + "; ".join(outcomes), messages.SUCCESS
                )
            return HttpResponseRedirect(reverse("admin:knowledge_document_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload documents",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/knowledge/document/upload.html", context)
