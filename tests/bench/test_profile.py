"""bench.profile's reading of py-spy's stacks: whose work a sample is."""

from bench.profile import Profile

# py-spy's raw format: frames outermost first, "name (path:line)", then the sample count.
RAW = "\n".join(
    [
        # MLflow's LangChain callback: tracing.
        "_run (asyncio/events.py:80);Graph.run (langgraph/pregel/main.py:10);"
        "exception_safe_function_for_class.<locals>.safe_function "
        "(mlflow/utils/autologging_utils/safety.py:5);dumps (json/__init__.py:2) 30",
        # The node the app's span decorator runs: the app's own work, not tracing.
        "_run (asyncio/events.py:80);traced_node.<locals>.decorate.<locals>.run "
        "(/work/main/agent/spans.py:108);draft (/work/main/agent/nodes/draft.py:40);"
        "findall (re/__init__.py:3) 20",
        # The span decorator's own summary of the state: tracing.
        "_run (asyncio/events.py:80);traced_node.<locals>.decorate.<locals>.run "
        "(/work/main/agent/spans.py:103);state_attributes "
        "(/work/main/agent/spans.py:70);count_words (/work/main/agent/citations.py:36) 6",
        # LangChain's own constructor, called through autolog's patch: LangChain's work.
        "safe_patch.<locals>.safe_patch_function (mlflow/utils/autologging_utils/safety.py:9);"
        "safe_patch.<locals>.safe_patch_function.<locals>.call_original "
        "(mlflow/utils/autologging_utils/safety.py:12);CallbackManager.__init__ "
        "(langchain_core/callbacks/base.py:4) 4",
        "Thread._bootstrap (threading.py:1002) 2",
    ]
)


def test_samples_are_owned_by_the_innermost_work_not_by_the_wrapper_around_it() -> None:
    profile = Profile.parse(RAW, articles=2)
    owners = profile.by_owner()
    assert owners == {
        "tracing": 36,
        "app": 20,
        "langchain callbacks": 4,
        "python and the rest": 2,
    }
    # 200 samples a second: 36 samples over 2 articles are 90 ms each.
    assert profile.ms_per_article(owners["tracing"]) == 90


def test_tracing_is_told_by_entry_point_and_by_the_function_doing_the_work() -> None:
    entries, leaves = Profile.parse(RAW, articles=1).tracing_functions()
    assert entries == {
        "exception_safe_function_for_class.<locals>.safe_function "
        "(mlflow/utils/autologging_utils/safety.py)": 30,
        "state_attributes (agent/spans.py)": 6,
    }
    assert leaves == {"dumps (json/__init__.py)": 30, "count_words (agent/citations.py)": 6}
