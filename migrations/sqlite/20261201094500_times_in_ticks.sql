-- Times were microseconds since the Unix epoch; from now on they are ticks of 100 ns (.NET's unit),
-- so a .NET client's DateTime keeps its seventh fractional digit. Every stored time is converted,
-- the times inside the outbox's event contents (JSON) too.
UPDATE services SET deleted_at = deleted_at * 10;
UPDATE operators SET deleted_at = deleted_at * 10;
UPDATE tickets SET
    start_time = start_time * 10,
    end_time = end_time * 10,
    expected_resolution_time = expected_resolution_time * 10,
    next_update_time = next_update_time * 10,
    closed_time = closed_time * 10,
    reopened_time = reopened_time * 10,
    created_time = created_time * 10,
    deleted_at = deleted_at * 10;
UPDATE ticket_events SET at = at * 10;
UPDATE notifications SET
    queued_at = queued_at * 10,
    next_attempt_at = next_attempt_at * 10,
    last_attempt_at = last_attempt_at * 10,
    sent_at = sent_at * 10;
UPDATE gui_sessions SET
    created_at = created_at * 10,
    seen_at = seen_at * 10,
    expires_at = expires_at * 10;
UPDATE login_failures SET last_at = last_at * 10;
UPDATE notification_events SET content = json_set(content,
    '$.at', json_extract(content, '$.at') * 10,
    '$.ticket_created', json_extract(content, '$.ticket_created') * 10,
    '$.start_time', json_extract(content, '$.start_time') * 10,
    '$.end_time', json_extract(content, '$.end_time') * 10,
    '$.expected_resolution_time', json_extract(content, '$.expected_resolution_time') * 10,
    '$.next_update_time', json_extract(content, '$.next_update_time') * 10,
    '$.closed_time', json_extract(content, '$.closed_time') * 10,
    '$.reopened_time', json_extract(content, '$.reopened_time') * 10);
