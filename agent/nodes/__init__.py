"""One module per step of the graph; `agent.graph` wires them."""

from agent.nodes.amend import amend
from agent.nodes.coverage import coverage
from agent.nodes.draft import draft
from agent.nodes.finalize import finalize
from agent.nodes.plan import plan
from agent.nodes.research import research
from agent.nodes.review import review
from agent.nodes.revise import revise

__all__ = ["amend", "coverage", "draft", "finalize", "plan", "research", "review", "revise"]
