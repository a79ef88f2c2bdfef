"""The built-in offline model: an OpenAI Chat Completions server that writes from its prompt.

It needs no key and no network. It recognises the article writer's tasks by what a request
offers (tools, a response schema) and by the blocks the prompts carry (see `agent.briefs`), and
composes every word it returns from the source passages in the conversation.
"""
