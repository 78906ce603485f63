"""Markdown for GitHub job summaries ($GITHUB_STEP_SUMMARY): one table a maintainer reads
instead of nine job logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bakery.bake.results import BakeStatus, Results, TargetResult
from bakery.plan.target import Target
from bakery.release.gpuproof import gpu_proof_note
from bakery.sizes import human_bytes
from bakery.views.bake import short_digest


def cell(text: str) -> str:
    """A table cell: `|` and line breaks would end the cell or the row."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def code(text: str) -> str:
    return f"`{cell(text)}`" if text else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


_STATUS: dict[BakeStatus, str] = {"ok": "ok", "failed": "**failed**", "cancelled": "cancelled",
                                  "skipped": "skipped"}


def _verify(result: TargetResult, planned: Target | None = None) -> str:
    record = result.verify
    gpu = gpu_proof_note(planned, record)
    if record is None:
        return "not verified" + (f"; {gpu}" if gpu else "")
    if record.ok:
        return "passed" + (f"; {gpu}" if gpu else "")
    shown = [f"{m.check}: expected {m.expected}, found {m.found or 'nothing'}"
             for m in record.mismatches[:3]]
    more = len(record.mismatches) - len(shown)
    return "**failed**: " + "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def _names(result: TargetResult, planned: Target | None) -> str:
    if planned is not None:
        names = [*planned.tags.primary, *planned.tags.legacy, *planned.tags.compatibility,
                 *planned.tags.release]
    else:
        names = list(result.tags)
    return "<br>".join(code(n) for n in names) if names else "-"


def results_markdown(
    documents: Sequence[Results], planned: Mapping[str, Target], *, title: str
) -> str:
    """One table over every target of every results document, then each failure's step and
    last log lines."""
    lines = [f"### {cell(title)}", "",
             "| target | status | digest | verify | compressed | update | duration | names |",
             "|---|---|---|---|---|---|---|---|"]
    failures: list[str] = []
    for doc in documents:
        for result in doc.targets:
            size = result.verify.compressed_size if result.verify else None
            update = result.verify.update_cost if result.verify else None
            lines.append(
                f"| {code(result.id)} | {_STATUS[result.status]}"
                f" | {code(short_digest(result.digest)) if result.digest else '-'}"
                f" | {cell(_verify(result, planned.get(result.id)))} | {human_bytes(size)}"
                f" | {human_bytes(update)}"
                f" | {_duration(result.duration_s)} | {_names(result, planned.get(result.id))} |"
            )
            if result.error is not None:
                step = f" at `{cell(result.error.step)}`" if result.error.step else ""
                message = cell(result.error.message)
                failures += ["", f"**{cell(result.id)}** failed{step}: {message}"]
                if result.error.log_tail:
                    failures += ["", "```", *(line.replace("```", "'''") for line in
                                             result.error.log_tail[-15:]), "```"]
    return "\n".join(lines + failures) + "\n"


def results_json(documents: Sequence[Results], planned: Mapping[str, Target], *,
                 title: str) -> str:
    """What `results_markdown` shows, as JSON for programs: one entry per target of every
    results document (its status, digest, verify verdict, sizes, duration, public names and
    failure), sizes in bytes and durations in seconds."""
    import json

    targets = []
    for doc in documents:
        for result in doc.targets:
            record, target = result.verify, planned.get(result.id)
            names = ([*target.tags.primary, *target.tags.legacy, *target.tags.compatibility,
                      *target.tags.release] if target is not None else list(result.tags))
            targets.append({
                "id": result.id,
                "status": result.status,
                "ok": result.status == "ok",
                "digest": result.digest,
                "verified": None if record is None else record.ok,
                "mismatches": [] if record is None else [m.model_dump(mode="json")
                                                          for m in record.mismatches],
                "compressed_size": record.compressed_size if record else None,
                "update_cost": record.update_cost if record else None,
                "duration_s": result.duration_s,
                "names": names,
                "error": None if result.error is None else {
                    "step": result.error.step, "message": result.error.message,
                    "log_tail": list(result.error.log_tail[-15:])},
            })
    return json.dumps({"schema_version": 1, "title": title, "targets": targets},
                      indent=2) + "\n"
