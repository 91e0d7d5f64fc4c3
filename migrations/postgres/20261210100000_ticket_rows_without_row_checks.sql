-- A ticket's services and events are written by the statements that write the ticket itself
-- (store/ticket_create_pg.rs: the ticket, its services, its event and its audit entry in one
-- `WITH … INSERT`; a change: the ticket's row read `FOR UPDATE` first), and the services they
-- name are checked live under `FOR SHARE` by the same statement. Nothing in Herald deletes a
-- ticket's or a service's row (both are marked deleted). PostgreSQL checked these three
-- foreign keys row by row all the same, each check a trigger and an SPI query that also locked
-- the referenced row (a WAL record; on the shared service's row a multixact between concurrent
-- creations): 8 % of the POST's throughput over 32 connections (bench/pg_post_rounds.sh,
-- BENCHMARKS.md, thirteenth pass). SQLite keeps them (its checks cost no round trip nor lock).
ALTER TABLE ticket_services DROP CONSTRAINT ticket_services_ticket_id_fkey,
    DROP CONSTRAINT ticket_services_service_id_fkey;
ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_ticket_id_fkey;
