"""Sessions: an article that lasts beyond one request, in LangGraph's checkpointer and store."""

from service.sessions.persistence import Persistence, open_persistence
from service.sessions.records import SessionBusy, SessionRecord, Sessions, Turn, UnknownSession

__all__ = [
    "Persistence",
    "SessionBusy",
    "SessionRecord",
    "Sessions",
    "Turn",
    "UnknownSession",
    "open_persistence",
]
