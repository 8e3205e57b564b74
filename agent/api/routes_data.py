"""Endpoints over the shop's data: batch drafting and the data subject's rights.

Batches go through ``agent.batch`` (resumable jobs, see ``agent.api.batches``); export and
erasure through ``agent.privacy``, for keys with the ``admin`` scope only. An export is the
one response that carries a customer's contact details: it answers a subject access request.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time, and
# they name dependencies local to the router builders.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from agent.api.batches import BatchManager
from agent.api.keys import Caller
from agent.api.models import BatchRequest
from agent.api.routes_agent import json_response, require
from agent.api.service import AgentService
from agent.privacy.rights import export_customer, forget_customer
from agent.settings import Settings

CustomerId = Annotated[str, Path(description="The customer's id, e.g. C00042", max_length=64)]
JobId = Annotated[str, Path(description="The job's id, e.g. b1f2e3d4c5b6a7980")]


def build_data_router(
    service: AgentService, batches: BatchManager, settings: Settings
) -> APIRouter:
    """The routes of ``/v1/batches`` and ``/v1/customers`` (time per call from ``settings``)."""
    router = APIRouter()
    seconds = settings.api_timeout_s
    drafting = require("draft", "batch drafting")
    reading = require("read", "reading batch jobs")
    admin = require("admin", "exporting or erasing a customer's data")

    @router.post(
        "/v1/batches",
        tags=["batches"],
        status_code=202,
        summary="Start drafting for an audience (resumable; consent and caps first)",
        description=(
            "Starts a job and returns its record (202, Location: the job). The job survives a "
            "server restart: it resumes from its checkpoint, never drafting anyone twice."
        ),
    )
    async def create_batch(
        body: BatchRequest, caller: Annotated[Caller, Depends(drafting)]
    ) -> Response:
        record = await service.call(batches.create, caller, body, seconds=seconds)
        data = record.model_dump(mode="json")
        return json_response(data, 202, headers={"Location": f"/v1/batches/{record.id}"})

    @router.get("/v1/batches", tags=["batches"], summary="Every batch job, newest first")
    async def list_batches(_: Annotated[Caller, Depends(reading)]) -> Response:
        records = await service.call(batches.list, seconds=seconds)
        return json_response({"batches": [r.model_dump(mode="json") for r in records]})

    @router.get(
        "/v1/batches/{job_id}",
        tags=["batches"],
        summary="A job's status and progress (an interrupted job is resumed)",
    )
    async def get_batch(_: Annotated[Caller, Depends(reading)], job_id: JobId) -> Response:
        return json_response(await service.call(batches.report, job_id, seconds=seconds))

    @router.get(
        "/v1/batches/{job_id}/drafts",
        tags=["batches"],
        summary="A finished job's drafts, streamed as JSON lines",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"application/x-ndjson": {}}, "description": "One draft a line"},
            409: {"description": "The job is not done yet"},
        },
    )
    async def batch_drafts(_: Annotated[Caller, Depends(reading)], job_id: JobId) -> Response:
        lines = await service.call(batches.drafts, job_id, seconds=seconds)
        return StreamingResponse(lines, media_type="application/x-ndjson")

    @router.get(
        "/v1/customers/{customer_id}/export",
        tags=["data rights"],
        summary="Everything held on one customer (subject access request; admin only)",
    )
    async def export(_: Annotated[Caller, Depends(admin)], customer_id: CustomerId) -> Response:
        result = await service.call(
            export_customer, service.settings, customer_id, seconds=seconds
        )
        return json_response(result.model_dump(mode="json"))

    @router.delete(
        "/v1/customers/{customer_id}",
        tags=["data rights"],
        summary="Erase one customer everywhere (right to erasure; admin only)",
        description=(
            "Removes the customer from the data files, caches, traces, sessions, drafts and "
            "batch checkpoints, then rescans; the report lists what was removed and anything "
            "left. The server reloads the shop afterwards. The call itself is recorded without "
            "the customer's id."
        ),
    )
    async def erase(
        request: Request,
        _: Annotated[Caller, Depends(admin)],
        customer_id: CustomerId,
        dry_run: Annotated[bool, Query(description="Only report what would go")] = False,
    ) -> Response:
        request.state.record_path = "/v1/customers/[erased]"
        report = await service.call(_forget, service, customer_id, dry_run, seconds=seconds)
        return json_response(report)

    return router


def _forget(service: AgentService, customer_id: str, dry_run: bool) -> dict[str, Any]:
    report = forget_customer(service.settings, customer_id, dry_run=dry_run)
    if not dry_run:
        service.reload()
    return report.model_dump(mode="json")
