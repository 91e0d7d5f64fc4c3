-- Time-driven work (the scheduler): a reminder before planned work, a notice when a promised
-- update is overdue. A job is planned, re-planned and cancelled in the transaction of the ticket
-- change that causes it, and run once in a transaction of its own (see store/schedule.rs).
CREATE TABLE scheduled_jobs (
    id          INTEGER PRIMARY KEY,
    -- 'reminder' or 'overdue'
    kind        TEXT    NOT NULL,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    -- When it is to run (100 ns ticks).
    due_at      INTEGER NOT NULL,
    -- The ticket's StartTime (reminder) or NextUpdateTime (overdue) it was planned for.
    planned_for INTEGER NOT NULL,
    -- A reminder's lead time, in seconds.
    lead_secs   INTEGER,
    -- 'pending', then 'done', 'dropped' (its time passed while Herald was stopped and the work
    -- had begun) or 'cancelled' (re-planned, closed, deleted).
    state       TEXT    NOT NULL,
    planned_at  INTEGER NOT NULL,
    finished_at INTEGER,
    -- The history event it made.
    event_id    INTEGER REFERENCES ticket_events (id)
);
-- The scheduler's one query per tick: the next due jobs, from this index alone.
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (due_at, id) WHERE state = 'pending';
CREATE INDEX scheduled_jobs_by_ticket ON scheduled_jobs (ticket_id, id);
