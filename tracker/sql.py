"""Query expressions Django 5.2 lacks, written for both databases we support (SQLite and PostgreSQL)."""

from django.db.models import Subquery, TextField


class JoinedText(Subquery):
    """The rows of an ordered one-column subquery joined into one text, in the subquery's order; NULL if none.

    Django 5.2 has a StringAgg for PostgreSQL only, and SQLite before 3.44 has no ORDER BY inside
    group_concat. So the subquery keeps its ORDER BY and is wrapped: PostgreSQL collects it with
    ARRAY(...), which keeps the rows' order; SQLite never flattens an ordered subquery into an
    aggregate (its flattening rule 16), so group_concat reads the rows in order too.
    """

    output_field = TextField()

    def __init__(self, queryset, *, column, delimiter="; "):
        super().__init__(queryset, output_field=TextField())
        self.column, self.delimiter = column, delimiter

    def as_postgresql(self, compiler, connection, **extra_context):
        subquery, params = self.as_sql(compiler, connection, **extra_context)
        return "".join(["array_to_string(ARRAY", subquery, ", %s)"]), (*params, self.delimiter)

    def as_sqlite(self, compiler, connection, **extra_context):
        subquery, params = self.as_sql(compiler, connection, **extra_context)
        column = connection.ops.quote_name(self.column)
        return "".join(["(SELECT group_concat(", column, ", %s) FROM ", subquery, " AS joined_text)"]), (
            self.delimiter,
            *params,
        )
