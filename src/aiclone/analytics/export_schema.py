"""The JSON schemas of the JSON and NDJSON exports, derived from the export sources' columns.

A row is an object with every column of its table (a missing value is ``null``). JSON is an array
of rows, or for ``all`` an object of one array per table; NDJSON is one row per line, tagged with
its ``data_type`` for ``all``.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Reference, Schema

from aiclone.analytics.sources import EXPORT_SOURCES, ExportSource, Kind

_KINDS: dict[Kind, Schema] = {
    "str": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL]),
    "int": Schema(type=[OpenAPIType.INTEGER, OpenAPIType.NULL]),
    "float": Schema(type=[OpenAPIType.NUMBER, OpenAPIType.NULL]),
    "bool": Schema(type=[OpenAPIType.BOOLEAN, OpenAPIType.NULL]),
    "datetime": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], format=OpenAPIFormat.DATE_TIME),
    "uuid": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], format=OpenAPIFormat.UUID),
    "json": Schema(description="Any JSON value."),
}


def row_schema(source: ExportSource, *, tagged: bool = False) -> Schema:
    properties: dict[str, Schema | Reference] = {
        column.name: _KINDS[column.kind] for column in source.columns
    }
    if tagged:
        properties = {"data_type": Schema(type=OpenAPIType.STRING, const=source.name), **properties}
    return Schema(
        type=OpenAPIType.OBJECT,
        title=f"{source.name} row",
        required=list(properties),
        properties=properties,
    )


def json_export_schema() -> Schema:
    sources = list(EXPORT_SOURCES.values())
    one_table = Schema(
        type=OpenAPIType.ARRAY,
        description="One table: its rows in (time, id) order.",
        items=Schema(any_of=[row_schema(s) for s in sources]),
    )
    every_table = Schema(
        type=OpenAPIType.OBJECT,
        description="`all`: one array of rows per table.",
        required=[s.name for s in sources],
        properties={s.name: Schema(type=OpenAPIType.ARRAY, items=row_schema(s)) for s in sources},
    )
    return Schema(one_of=[one_table, every_table])


def ndjson_line_schema() -> Schema:
    sources = list(EXPORT_SOURCES.values())
    return Schema(
        description="Each line is one row; for `all` it names its table in `data_type`.",
        any_of=[*(row_schema(s) for s in sources), *(row_schema(s, tagged=True) for s in sources)],
    )
