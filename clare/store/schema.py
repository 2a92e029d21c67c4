"""Schemas of both databases, as lists of migrations (index i: version i -> i + 1).

Add a migration to change a schema; never edit one that has shipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clare.store.sqlite import Migration

_EVENTS_V1 = """
        CREATE TABLE events (
            seq        INTEGER PRIMARY KEY,   -- local arrival order
            id         TEXT NOT NULL UNIQUE,
            origin     TEXT NOT NULL,
            origin_seq INTEGER NOT NULL,
            hlc        INTEGER NOT NULL,
            kind       TEXT NOT NULL,
            entity     TEXT NOT NULL,         -- what it concerns, for one entity's history
            body       BLOB NOT NULL,
            UNIQUE (origin, origin_seq)
        );
        CREATE INDEX events_entity ON events (entity, hlc, origin);
        CREATE INDEX events_hlc ON events (hlc);
        -- Idempotency: the first answer to each command uuid.
        CREATE TABLE commands (
            id     TEXT PRIMARY KEY,
            reply  BLOB NOT NULL,
            at_ms  INTEGER NOT NULL
        ) WITHOUT ROWID;
        """


# Two different events offered for one (origin, origin_seq) slot. The first
# stored keeps the slot (the events table allows one); the other is recorded
# here, so the loss is visible instead of silent (docs/sync-protocol.md).
# held_id is the event in the slot, or '' for a slot of this host's own origin
# that it has not filled (a forgery of its future).
_EVENTS_V2 = """
        CREATE TABLE slot_conflicts (
            origin      TEXT NOT NULL,
            origin_seq  INTEGER NOT NULL,
            event_id    TEXT NOT NULL,    -- the event refused for the taken slot
            hlc         INTEGER NOT NULL,
            kind        TEXT NOT NULL,
            body_sha256 TEXT NOT NULL,
            held_id     TEXT NOT NULL,
            peer        TEXT NOT NULL,    -- the peer that sent it ('' if not known)
            seen_at_ms  INTEGER NOT NULL,
            PRIMARY KEY (origin, origin_seq, event_id)
        ) WITHOUT ROWID;
        """


EVENTS_MIGRATIONS: list[Migration] = [_EVENTS_V1, _EVENTS_V2]


_VIEWS_V1 = """
        CREATE TABLE position (
            id  INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL            -- last event seq reflected in these views
        );
        INSERT INTO position VALUES (1, 0);
        CREATE TABLE projects (
            name        TEXT PRIMARY KEY,
            description TEXT NOT NULL,
            paths       TEXT NOT NULL,      -- JSON {machine_id: path}
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL,
            last_hlc    INTEGER NOT NULL,
            last_origin TEXT NOT NULL
        );
        CREATE TABLE tasks (
            id            TEXT PRIMARY KEY,
            project       TEXT NOT NULL,
            title         TEXT NOT NULL,
            body          TEXT NOT NULL,
            priority      INTEGER NOT NULL,
            tags          TEXT NOT NULL,    -- JSON list
            depends_on    TEXT NOT NULL,    -- JSON list
            state         TEXT NOT NULL,
            assignee_kind TEXT NOT NULL,
            assignee      TEXT NOT NULL,
            created_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL,
            notes         INTEGER NOT NULL,
            fold          BLOB NOT NULL     -- the rest of the fold state (msgpack)
        );
        CREATE INDEX tasks_project ON tasks (project, state);
        CREATE TABLE conflicts (
            event_id        TEXT PRIMARY KEY,
            task            TEXT NOT NULL,
            winner_event_id TEXT NOT NULL,
            field           TEXT NOT NULL,
            description     TEXT NOT NULL,
            applied         INTEGER NOT NULL,
            hlc             INTEGER NOT NULL
        );
        CREATE INDEX conflicts_task ON conflicts (task);
        CREATE TABLE hosts (
            machine_id  TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            groups_     TEXT NOT NULL,
            last_hlc    INTEGER NOT NULL,
            last_origin TEXT NOT NULL
        );
        CREATE TABLE groups_ (
            name        TEXT PRIMARY KEY,
            members     TEXT NOT NULL,
            removed     INTEGER NOT NULL,
            last_hlc    INTEGER NOT NULL,
            last_origin TEXT NOT NULL
        );
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            host          TEXT NOT NULL,
            status        TEXT NOT NULL,
            project       TEXT NOT NULL,
            last_activity INTEGER NOT NULL,
            snapshot      TEXT NOT NULL,    -- JSON of the SessionObserved body
            last_hlc      INTEGER NOT NULL,
            last_origin   TEXT NOT NULL
        );
        CREATE TABLE counts (
            kind  TEXT PRIMARY KEY,         -- events seen per kind, and skipped ones
            n     INTEGER NOT NULL
        );
        """


# Messages and their deliveries (one row per session that got a message).
_VIEWS_V2 = """
        CREATE TABLE messages (
            id          TEXT PRIMARY KEY,
            target      TEXT NOT NULL,      -- all, or kind:name (project, group, host, session)
            text        TEXT NOT NULL,
            author      TEXT NOT NULL,
            sent_at     INTEGER NOT NULL,   -- ms since the epoch
            expires_at  INTEGER NOT NULL,
            sent_hlc    INTEGER NOT NULL,
            last_hlc    INTEGER NOT NULL,
            last_origin TEXT NOT NULL
        );
        CREATE TABLE deliveries (
            message TEXT NOT NULL,
            session TEXT NOT NULL,
            via     TEXT NOT NULL,          -- hook | pull | tmux
            at      INTEGER NOT NULL,
            PRIMARY KEY (message, session)
        ) WITHOUT ROWID;
        CREATE INDEX deliveries_session ON deliveries (session);
        CREATE INDEX sessions_host ON sessions (host, status);
        """


# Entities whose events so far fold to nothing (events that arrived before the
# event that creates the entity): the only entities whose next event needs a
# refold from the events DB although the views hold no row for them. Knowing
# them lets the projector fold a new entity's first event without that read.
# Views made before this table existed may hold such entities unrecorded, so
# they are emptied here and projected again from the events, which are the truth.
_VIEWS_V3 = """
        CREATE TABLE held_back (
            entity TEXT PRIMARY KEY
        ) WITHOUT ROWID;
        DELETE FROM projects;
        DELETE FROM tasks;
        DELETE FROM conflicts;
        DELETE FROM hosts;
        DELETE FROM groups_;
        DELETE FROM sessions;
        DELETE FROM counts;
        DELETE FROM messages;
        DELETE FROM deliveries;
        UPDATE position SET seq = 0;
        """


# Deleted tasks and projects stay in their tables (their fold goes on if a late
# event arrives), marked so that lists leave them out. No event made before
# this version deletes anything, so the rows already there are right as they are.
_VIEWS_V4 = """
        ALTER TABLE tasks ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE projects ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE projects ADD COLUMN renamed_to TEXT NOT NULL DEFAULT '';
        """


# Events the projector could not fold (undecodable, out of bounds, or a fold that
# failed on them), each with why: stored and synced like any event, shown by
# status, doctor and `clare log`, never folded. Views made before this table
# existed recorded only a count of them, so they are projected again.
_VIEWS_V5 = """
        CREATE TABLE set_aside (
            seq     INTEGER PRIMARY KEY,    -- the event's local seq
            id      TEXT NOT NULL,
            kind    TEXT NOT NULL,
            reason  TEXT NOT NULL
        );
        DELETE FROM projects;
        DELETE FROM tasks;
        DELETE FROM conflicts;
        DELETE FROM hosts;
        DELETE FROM groups_;
        DELETE FROM sessions;
        DELETE FROM counts;
        DELETE FROM messages;
        DELETE FROM deliveries;
        DELETE FROM held_back;
        UPDATE position SET seq = 0;
        """


# Whether a project's finished tasks go to review. No event made before this
# version sets it, so every project already there is rightly 0.
_VIEWS_V6 = """
        ALTER TABLE projects ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
        """


# Permission prompts answered from any host (clare.domain.decisions): the columns
# lists filter and sort on, and the whole folded state as JSON in ``fold``.
_VIEWS_V7 = """
        CREATE TABLE decisions (
            id          TEXT PRIMARY KEY,
            session     TEXT NOT NULL,
            host        TEXT NOT NULL,      -- machine_id of the session's host
            project     TEXT NOT NULL,
            tool        TEXT NOT NULL,
            summary     TEXT NOT NULL,
            asked_at    INTEGER NOT NULL,   -- ms since the epoch
            state       TEXT NOT NULL,      -- pending, allowed, denied, ...
            conflicts   INTEGER NOT NULL,
            fold        TEXT NOT NULL,      -- JSON of the whole folded state
            last_hlc    INTEGER NOT NULL,
            last_origin TEXT NOT NULL
        );
        CREATE INDEX decisions_state ON decisions (state, asked_at);
        CREATE INDEX decisions_session ON decisions (session);
        """


# Dispatch requests (one row each, the whole fold state as JSON) and each host's
# offer. Nothing before this version made such events: no refold is needed.
_VIEWS_V8 = """
        CREATE TABLE dispatches (
            id          TEXT PRIMARY KEY,
            action      TEXT NOT NULL,
            host        TEXT NOT NULL,
            task        TEXT NOT NULL,
            session     TEXT NOT NULL,
            state       TEXT NOT NULL,
            state_json  TEXT NOT NULL,
            last_hlc    INTEGER NOT NULL,
            last_origin TEXT NOT NULL
        );
        CREATE INDEX dispatches_host_state ON dispatches (host, state);
        CREATE INDEX dispatches_task ON dispatches (task);
        CREATE TABLE dispatch_offers (
            machine_id      TEXT PRIMARY KEY,
            enabled         INTEGER NOT NULL,
            max_sessions    INTEGER NOT NULL,
            permission_mode TEXT NOT NULL,
            last_hlc        INTEGER NOT NULL,
            last_origin     TEXT NOT NULL
        );
        """


VIEWS_MIGRATIONS: list[Migration] = [
    _VIEWS_V1, _VIEWS_V2, _VIEWS_V3, _VIEWS_V4, _VIEWS_V5, _VIEWS_V6, _VIEWS_V7, _VIEWS_V8,
]  # fmt: skip
