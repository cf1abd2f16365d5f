"""The data-room access log is append-only in the database itself: no row is changed or deleted, except that a
removed document's reference is cleared (its title stays in `detail`)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION portfolios_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.document_id IS NULL
       AND (NEW.id, NEW.portfolio_id, NEW.user_id, NEW.action, NEW.detail, NEW.fingerprint, NEW.ip_address,
            NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.portfolio_id, OLD.user_id, OLD.action, OLD.detail, OLD.fingerprint, OLD.ip_address,
            OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the data-room access log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER portfolios_access_log_append_only
    BEFORE UPDATE OR DELETE ON portfolios_dataroomaccess
    FOR EACH ROW EXECUTE FUNCTION portfolios_access_log_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS portfolios_access_log_append_only ON portfolios_dataroomaccess;
DROP FUNCTION IF EXISTS portfolios_access_log_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("portfolios", "0005_nda_version_1")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
