-- A counter of the changes the public pages show (tickets, their services, services), bumped
-- by triggers in the transaction of each change, so every instance can tell cheaply whether
-- its rendered status page is still current (src/public/cache.rs).
CREATE TABLE public_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO public_version (id, version) VALUES (1, 0);
CREATE FUNCTION public_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public_version SET version = version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER public_version_tickets AFTER INSERT OR UPDATE OR DELETE ON tickets
    FOR EACH STATEMENT EXECUTE FUNCTION public_version_bump();
CREATE TRIGGER public_version_ticket_services AFTER INSERT OR UPDATE OR DELETE ON ticket_services
    FOR EACH STATEMENT EXECUTE FUNCTION public_version_bump();
CREATE TRIGGER public_version_services AFTER INSERT OR UPDATE OR DELETE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION public_version_bump();
