"""The poller's decisions: observations in, the snapshots worth recording out. No I/O.

The core remembers the last snapshot it had recorded for each session
(``reported``). A new observation becomes a ``SessionObserved`` only when
:func:`clare.domain.session_ops.significant_change` says it differs enough, so a
pass that sees nothing new writes nothing, and tokens and activity move in
coarse steps. A session that was live and is missing from a complete scan of
its source has ended. ``reported`` is plain data (:meth:`PollerCore.to_dict`),
kept by the poller across restarts; losing it costs one round of snapshots.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from clare.app.recipients import project_for_cwd
from clare.core.errors import ProtocolError
from clare.domain.events import SessionObserved, decode
from clare.domain.session_ops import MAX_SNAPSHOT_TEXT, significant_change, snapshot_dict

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from clare.sessions.source import Observation, ScanResult


def snapshot_of(obs: Observation, machine_id: str, project: str) -> SessionObserved:
    snapshot = SessionObserved(
        session=obs.session,
        host=machine_id,
        pid=obs.pid,
        name=obs.name,
        cwd=obs.cwd,
        project=project,
        branch=obs.branch,
        status=obs.status,
        waiting_for=obs.waiting_for,
        version=obs.version,
        model=obs.model,
        title=obs.title,
        first_prompt=obs.first_prompt,
        started_at=obs.started_at,
        last_activity=obs.last_activity,
        tokens_in=obs.tokens_in,
        tokens_out=obs.tokens_out,
        tmux_pane=obs.tmux_pane,
        source=obs.source,
        session_kind=obs.kind,
        job_id=obs.job_id,
        permission_mode=obs.permission_mode,
        usage=obs.usage,
    )
    # The writer refuses longer text: a transcript with a huge title must not cost
    # its session the whole record.
    long_text: dict[str, Any] = {
        f.name: value[:MAX_SNAPSHOT_TEXT]
        for f in fields(snapshot)
        if isinstance(value := getattr(snapshot, f.name), str) and len(value) > MAX_SNAPSHOT_TEXT
    }
    return replace(snapshot, **long_text) if long_text else snapshot


def _moved_on_unseen(old: SessionObserved | None, new: SessionObserved) -> bool:
    """A session whose status only its hooks tell (no session file) has new transcript
    lines: the writer, which holds the hooks' status, decides if that ends a wait for
    a person (a dialog answered fires no hook). Usually it writes nothing."""
    return old is not None and not new.status and new.last_activity > old.last_activity


#: A live session this poller never saw in a scan (the hook made it, or it is left
#: from before a restart) is taken for ended only after this long without activity:
#: its hook may fire a moment before Claude Code writes its session file.
UNSEEN_GRACE_MS = 30_000


class PollerCore:
    def __init__(self, machine_id: str) -> None:
        self.machine_id = machine_id
        self.reported: dict[str, SessionObserved] = {}
        # Where in the event log this core recorded each session's end. Until the
        # views have reached it, a view showing the session live is only lagging
        # (a projector catching up), not a hook's revival: believing it would end
        # the session again on every pass, a flood of events.
        self.ended_at_seq: dict[str, int] = {}
        self._scanned: set[str] = set()

    def plan(
        self,
        source: str,
        scan: ScanResult,
        project_paths: Mapping[str, str],
        now_ms: int,
    ) -> list[SessionObserved]:
        """The snapshots to record after one scan of ``source``, in scan order."""
        out: list[SessionObserved] = []
        seen: set[str] = set()
        for obs in scan.observations:
            if obs.session in seen:
                continue  # two files for one session (a resumed one): the first wins
            seen.add(obs.session)
            snap = snapshot_of(obs, self.machine_id, project_for_cwd(obs.cwd, project_paths))
            old = self.reported.get(obs.session)
            if significant_change(old, snap) or _moved_on_unseen(old, snap):
                out.append(snap)
        self._scanned |= seen
        if scan.complete:
            for session, old in list(self.reported.items()):
                if session in seen or old.source != source:
                    continue
                if old.status == "ended":
                    del self.reported[session]  # no source mentions it any more
                    self._scanned.discard(session)
                elif session in self._scanned or now_ms - old.last_activity > UNSEEN_GRACE_MS:
                    out.append(replace(old, status="ended", waiting_for=""))
        return out

    def recorded(self, snapshot: SessionObserved, seq: int = 0) -> None:
        """``snapshot`` is in the event log now, at ``seq`` (0: the writer found it no
        change, or did not say)."""
        self.reported[snapshot.session] = snapshot
        if snapshot.status == "ended" and seq:
            self.ended_at_seq[snapshot.session] = seq

    def seed(self, snapshots: Iterable[SessionObserved], views_position: int | None = None) -> None:
        """Learn this host's live sessions as the views show them.

        Called each pass: a session this core thinks ended (or never knew) that the
        views show live was revived by a hook, and must be ended again if no
        source sees it.
        """
        if views_position is not None:
            self.ended_at_seq = {
                s: seq for s, seq in self.ended_at_seq.items() if seq > views_position
            }
        for snap in snapshots:
            if snap.host != self.machine_id or snap.status == "ended":
                continue
            if snap.session in self.ended_at_seq:
                continue  # the views have not reached our own record of its end
            known = self.reported.get(snap.session)
            if known is None or known.status == "ended":
                self.reported[snap.session] = snap

    def to_dict(self) -> dict[str, Any]:
        return {"reported": {k: snapshot_dict(v) for k, v in self.reported.items()}}

    def restore(self, state: dict[str, Any]) -> None:
        reported = state.get("reported") if isinstance(state, dict) else None
        if not isinstance(reported, dict):
            return
        for key, data in reported.items():
            if not isinstance(data, dict):
                continue
            try:
                snap = decode(SessionObserved.kind, data)
            except ProtocolError:
                continue
            if isinstance(snap, SessionObserved) and snap.session == key:
                self.reported[key] = snap
