-- A counter of the changes the public pages show (tickets, their services, services), bumped
-- by triggers in the transaction of each change, so every instance can tell cheaply whether
-- its rendered status page is still current (src/public/cache.rs).
CREATE TABLE public_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO public_version (id, version) VALUES (1, 0);
CREATE TRIGGER public_version_tickets_insert AFTER INSERT ON tickets
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_tickets_update AFTER UPDATE ON tickets
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_tickets_delete AFTER DELETE ON tickets
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_ticket_services_insert AFTER INSERT ON ticket_services
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_ticket_services_delete AFTER DELETE ON ticket_services
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_services_insert AFTER INSERT ON services
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_services_update AFTER UPDATE ON services
    BEGIN UPDATE public_version SET version = version + 1; END;
CREATE TRIGGER public_version_services_delete AFTER DELETE ON services
    BEGIN UPDATE public_version SET version = version + 1; END;
