"""Stored evaluation runs: one `EvaluationRun` per `manage.py evaluate`, one `ScenarioResult` per scenario."""

from __future__ import annotations

from django.db import models


class EvaluationRun(models.Model):
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=120, help_text="the agent model the scenarios ran against, e.g. local")
    suite = models.CharField(max_length=200, blank=True, help_text="scenario filter, empty for all")
    scenarios = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    pass_rate = models.FloatField(default=0.0, help_text="percent")
    duration_seconds = models.FloatField(default=0.0)
    min_pass = models.FloatField(default=100.0)
    revision = models.CharField(max_length=64, blank=True, help_text="git revision of the code, when known")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.model}): {self.passed}/{self.scenarios}"

    @property
    def ok(self) -> bool:
        return self.pass_rate >= self.min_pass


class ScenarioResult(models.Model):
    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="results")
    name = models.CharField(max_length=120, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    turns = models.PositiveSmallIntegerField(default=0)
    route_ok = models.BooleanField(default=False)
    tools_ok = models.BooleanField(default=False)
    db_ok = models.BooleanField(default=False)
    replies_ok = models.BooleanField(default=False)
    passed = models.BooleanField(default=False, db_index=True)
    duration_ms = models.FloatField(default=0.0)
    failures = models.JSONField(default=list, blank=True, help_text="what did not match, one line each")
    transcript = models.JSONField(default=list, blank=True, help_text="per turn: customer, reply, route, tools")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="scenario_result_once_per_run")]

    def __str__(self) -> str:
        return f"{self.name}: {'pass' if self.passed else 'FAIL'}"
