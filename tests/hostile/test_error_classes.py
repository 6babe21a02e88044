"""One diagnostics layer (issue 12): each error's exit code and HTTP status come from its class
in cvid.errors, on the command line (cvid.cli._common.report) and over HTTP
(cvid.web.problems.from_error)."""

from __future__ import annotations

import json

import pytest
import typer

from cvid.cli import _common
from cvid.errors import Error, FormatError, InputError, LimitError, StoreError, VerificationError
from cvid.store.driver import ConflictError

CLASSES = [Error, InputError, FormatError, LimitError, VerificationError, StoreError, ConflictError]


@pytest.mark.parametrize("cls", CLASSES)
def test_the_problem_status_is_the_class_s(cls: type[Error]) -> None:
    pytest.importorskip("fastapi")
    from cvid.web.problems import from_error

    problem = from_error(cls("what [/] went wrong"))
    assert problem.status == cls.http_status
    assert "what [/] went wrong" in problem.detail


def test_the_classes_say_their_statuses() -> None:
    assert (InputError.http_status, LimitError.http_status, FormatError.http_status) == (
        400,
        413,
        400,
    )
    assert (VerificationError.http_status, StoreError.http_status) == (500, 503)
    assert ConflictError.http_status == 409
    assert (InputError.exit_code, VerificationError.exit_code, StoreError.exit_code) == (2, 1, 2)


def test_a_handler_may_say_422_for_plain_input_errors_only() -> None:
    pytest.importorskip("fastapi")
    from cvid.web.problems import from_error

    assert from_error(InputError("x"), input_status=422).status == 422
    assert from_error(LimitError("x"), input_status=422).status == 413
    assert from_error(StoreError("x"), input_status=422).status == 503


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("as_json", [False, True])
def test_the_command_line_exits_with_the_class_s_code(
    cls: type[Error], as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    _common.set_json_errors(as_json)
    try:
        with pytest.raises(typer.Exit) as exited:
            _common.report(cls("f.json: a [bold]bad[/] \x1b[31m value"))
    finally:
        _common.set_json_errors(False)
    assert exited.value.exit_code == cls.exit_code
    err = capsys.readouterr().err
    if as_json:
        doc = json.loads(err)["error"]
        kind = "finding" if cls.exit_code == 1 else "bad_input"
        assert doc == {
            "exit_code": cls.exit_code,
            "kind": kind,
            "message": "f.json: a [bold]bad[/] \x1b[31m value",
            "where": "f.json",
        }
    else:
        assert "a [bold]bad[/] \\x1b[31m value" in err and "\x1b[31m" not in err
