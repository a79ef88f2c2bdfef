"""GET /health (alive) and GET /ready (what works, and what is degraded)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SettingsDep, TrackingDep, WriterDep
from api.schemas import Check, Health, Readiness
from service.versions import APP_VERSION
from tracing import EXPORT_FAILURES

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok", version=APP_VERSION)


@router.get("/ready", response_model=Readiness)
async def ready(writer: WriterDep, tracking: TrackingDep, settings: SettingsDep) -> Readiness:
    """Readiness. `degraded` still serves articles; `reasons` say what is missing."""
    library = writer.context.library
    if settings.tracing_enabled:
        tracked = await tracking.check() and await writer.version.check()
        detail = tracking.problem or f"experiment {tracking.experiment_id}"
        if tracking.problem is None:
            version = writer.version
            detail += (
                f", agent version {version.name}"
                if version.model_id
                else ", agent version not registered (traces name none)"
            )
        if dropped := EXPORT_FAILURES.traces_dropped:
            detail += f"; {dropped} traces could not be written since the API started"
        tracing = Check(ok=tracked, detail=detail)
    else:
        tracing = Check(ok=True, detail="tracing is turned off (TRACING_ENABLED=false)")
    prompts = writer.prompts
    await prompts.check()
    checks = {
        "tracking": tracing,
        "prompts": Check(
            ok=prompts.problem is None,
            detail=prompts.problem or f"registry, alias {settings.prompt_alias!r}",
        ),
        "sources": Check(
            ok=True,
            detail=f"{len(library.documents)} documents, {len(library.passages)} passages indexed",
        ),
        "model": Check(ok=True, detail=f"{settings.provider}: {settings.model_name}"),
    }
    reasons = [f"{name}: {check.detail}" for name, check in checks.items() if not check.ok]
    return Readiness(status="degraded" if reasons else "ready", checks=checks, reasons=reasons)
