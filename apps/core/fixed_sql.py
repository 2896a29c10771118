"""Model rows read by statements written once as SQL, for the few reads every turn makes (issue 14).

The ORM compiles a queryset on every evaluation; for a statement of fixed shape that compile took longer than
PostgreSQL took to run it (1.5-2 ms of CPU against 0.1 ms for the same row read through a cursor). Here the select
list is built once per model from its `_meta`, and a row becomes an instance exactly as the ORM makes one
(`Model.from_db`, with the fields' database converters: JSON is decoded as the ORM decodes it).

    columns = model_columns(Message, "m")          # 'm."id", m."conversation_id", ...'
    message, rest = model_from_row(Message, row)   # the instance, and the row's remaining values
    model_insert(PendingAction(...))               # a new row, as `save()` inserts it
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@cache
def _fields(model: type[Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model._meta.concrete_fields
    return tuple(f.column for f in fields), tuple(f.attname for f in fields)


@cache
def _converters(model: type[Model]) -> tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]:
    """(position, converters, expression) for each field whose database value the ORM converts."""
    found = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(column) + column.get_db_converters(connection))
        if converters:
            found.append((position, converters, column))
    return tuple(found)


def model_columns(model: type[Model], alias: str) -> str:
    """The select list of `model`'s concrete fields under the table alias `alias`, in `_meta` order."""
    return ", ".join(f'{alias}."{column}"' for column in _fields(model)[0])


def model_from_row(model: type[M], row: Sequence[Any]) -> tuple[M | None, Sequence[Any]]:
    """The instance of `model` from the start of `row` (as selected by `model_columns`), and the rest of the row.

    None for an all-NULL part (a LEFT JOIN that found nothing)."""
    columns, attnames = _fields(model)
    values = list(row[: len(columns)])
    rest = row[len(columns) :]
    if values[0] is None:
        return None, rest
    for position, converters, expression in _converters(model):
        for converter in converters:
            values[position] = converter(values[position], expression, connection)
    return model.from_db(DEFAULT_DB_ALIAS, list(attnames), values), rest


@cache
def _insert_sql(
    model: type[Model], with_sql: str = "", computed: tuple[tuple[str, str], ...] = ()
) -> tuple[str, tuple[Any, ...]]:
    expressions = dict(computed)
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    placeholders = ", ".join(expressions.get(f.attname, "%s") for f in fields)
    table = model._meta.db_table
    by_attname = {f.attname: f.column for f in fields}
    returning = ", ".join(f'"{c}"' for c in (model._meta.pk.column, *(by_attname[a] for a in expressions)))
    prefix = f"WITH {with_sql} " if with_sql else ""
    bound = tuple(f for f in fields if f.attname not in expressions)
    return f'{prefix}INSERT INTO "{table}" ({columns}) VALUES ({placeholders}) RETURNING {returning}', bound  # noqa: S608


def model_insert(
    instance: Model, *, with_sql: str = "", with_params: Sequence[Any] = (), computed: tuple[tuple[str, str], ...] = ()
) -> None:
    """`instance.save()` of a new row (`save(force_insert=True)`) in one statement written once per model: the
    fields' `pre_save` (auto_now) and `get_db_prep_save`, as the ORM's INSERT prepares them; sets the primary key.

    `computed`: (attname, SQL expression) for columns whose value the statement computes (e.g. from `with_sql`, a
    `WITH` clause run in the same statement with `with_params`); each is set on the instance from `RETURNING`."""
    sql, fields = _insert_sql(type(instance), with_sql, computed)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*with_params, *values])
        row = cursor.fetchone()
    instance.pk = row[0]
    for (attname, _), value in zip(computed, row[1:], strict=True):
        setattr(instance, attname, value)
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
