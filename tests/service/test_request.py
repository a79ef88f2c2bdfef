"""What a caller may ask for is declared once, and every entry point reads it from there."""

from __future__ import annotations

import inspect

import cli
from agent.brief import TOPIC_CHARS, topic_problem
from api.middleware import REQUEST_ID
from api.schemas import FeedbackBody, WriteBody
from evals.predict import predictor
from service.request import DEFAULTS, ID_PATTERN, PATTERN_RULES


def test_the_api_body_has_the_requests_defaults_and_bounds() -> None:
    fields = WriteBody.model_fields
    for name in ("audience", "tone", "target_words"):
        assert fields[name].default == getattr(DEFAULTS, name), name
    schema = WriteBody.model_json_schema()["properties"]["topic"]
    assert (schema["minLength"], schema["maxLength"]) == TOPIC_CHARS


def test_the_evaluation_predict_fn_has_the_requests_defaults(offline_settings: object) -> None:
    params = inspect.signature(predictor(offline_settings)).parameters  # type: ignore[arg-type]
    assert params["audience"].default == DEFAULTS.audience
    assert params["target_words"].default == DEFAULTS.target_words


def test_the_command_line_refuses_the_topics_the_api_refuses(capsys: object) -> None:
    assert topic_problem("ab") == "the topic must be 3 to 300 characters"
    assert topic_problem(" " * 2 + "bees") is None
    try:
        cli.main(["write", "ab"])
    except SystemExit as exit:
        assert exit.code == 2
    assert "the topic must be 3 to 300" in capsys.readouterr().err  # type: ignore[attr-defined]


def test_user_session_and_request_ids_follow_one_rule_with_its_own_message() -> None:
    assert (
        REQUEST_ID.pattern == ID_PATTERN == FeedbackBody.model_fields["user_id"].metadata[0].pattern
    )
    assert REQUEST_ID.match("ada@example.org:42") and not REQUEST_ID.match("a b")
    assert PATTERN_RULES[ID_PATTERN].startswith("Use 1-128 letters")
