"""The site's OpenAPI document, read as a client's generator would, for the tests that hold it to the answers."""

import functools
from typing import Any

from drf_spectacular.generators import SchemaGenerator


@functools.cache
def document() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def properties(name: str) -> set[str]:
    """The fields the document gives component `name`."""
    return set(document()["components"]["schemas"][name]["properties"])


def answer(path: str, method: str, status: int) -> str:
    """The component the document names as the answer of `method path` with `status`."""
    content = document()["paths"][path][method]["responses"][str(status)]["content"]
    return str(content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1])
