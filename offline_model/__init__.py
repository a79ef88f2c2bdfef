"""The built-in offline model: an OpenAI Chat Completions server that writes from its prompt.

It needs no key and no network. It recognises the article writer's tasks by the structure of a
request, never by a prompt's prose: the tools it offers, the name of the response schema, and
the tagged blocks the app writes into its prompts' variables (the format:
`agent.prompts.blocks`; read back by `offline_model.blocks`). It composes every word it returns
from the source passages in the conversation.
"""
