"""Prompts: the files (`files`), what each node's prompt must take and answer (`contracts`),
the per-request loading by alias with the bundled fallback (`catalog`), registry management
for `writer prompts` (`registry`), and the tagged blocks the nodes fill them with (`blocks`).
"""

from agent.prompts.catalog import PromptCatalog, PromptSet, UnknownPromptAlias
from agent.prompts.contracts import AnsweredPrompt, NodePrompt
from agent.prompts.files import PromptBook, PromptFile, PromptFileError, read_prompt_file

__all__ = [
    "AnsweredPrompt",
    "NodePrompt",
    "PromptBook",
    "PromptCatalog",
    "PromptFile",
    "PromptFileError",
    "PromptSet",
    "UnknownPromptAlias",
    "read_prompt_file",
]
