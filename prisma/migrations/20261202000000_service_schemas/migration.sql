-- Each service owns its data. Until now the three services shared the public schema; from here:
--   order_api      products, orders, order_items, outbox_messages (+ place_orders and the stock triggers)
--   notify_worker  order_notifications
--   report_worker  order_reports
-- and one login role per service, named like its schema, with rights on its own schema only. Another
-- service's table is not even visible to it: without USAGE on the schema, reading or writing it fails
-- with 42501 (insufficient_privilege).
--
-- The tables move with ALTER ... SET SCHEMA, so every row, index, constraint and trigger stays as it is.
-- Names are schema-qualified here, so this file does not depend on the search_path it runs with.

-- Roles are cluster-wide: a second database on the same server (the test and bench databases) finds
-- them already made. No password here: locally the server trusts 127.0.0.1; `npm run db:migrate` sets
-- each role's password from <ROLE>_DB_PASSWORD when the environment gives one (Docker Compose does).
DO $$
DECLARE
  role_name TEXT;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['order_api', 'notify_worker', 'report_worker'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', role_name);
    EXCEPTION WHEN duplicate_object THEN
      NULL; -- made by an earlier database's migration, or by one running at the same time
    END;
  END LOOP;
END
$$;

CREATE SCHEMA "order_api";
CREATE SCHEMA "notify_worker";
CREATE SCHEMA "report_worker";

-- A notification or a report refers to an order by id only: the workers learn about orders from the
-- order.placed.v1 message, not from order-api's table, so no foreign key may cross the schemas.
ALTER TABLE "public"."order_notifications" DROP CONSTRAINT "order_notifications_order_id_fkey";
ALTER TABLE "public"."order_reports" DROP CONSTRAINT "order_reports_order_id_fkey";

ALTER TYPE "public"."order_status" SET SCHEMA "order_api";
ALTER TABLE "public"."products" SET SCHEMA "order_api";
ALTER TABLE "public"."orders" SET SCHEMA "order_api";
ALTER TABLE "public"."order_items" SET SCHEMA "order_api";
ALTER TABLE "public"."outbox_messages" SET SCHEMA "order_api";
ALTER FUNCTION "public"."place_orders" SET SCHEMA "order_api";
ALTER FUNCTION "public"."notify_stock_replenished" SET SCHEMA "order_api";
ALTER FUNCTION "public"."notify_products_truncated" SET SCHEMA "order_api";
-- place_orders names its tables unqualified: it resolves them in order_api whoever calls it.
ALTER FUNCTION "order_api"."place_orders" SET search_path = "order_api";

ALTER TABLE "public"."order_notifications" SET SCHEMA "notify_worker";
ALTER TABLE "public"."order_reports" SET SCHEMA "report_worker";

-- Rights: each role uses its own schema and reads and writes its rows there (no DDL: migrations own
-- the schema). Default privileges cover tables a later migration creates in these schemas.
DO $$
DECLARE
  owner_schema TEXT;
BEGIN
  FOREACH owner_schema IN ARRAY ARRAY['order_api', 'notify_worker', 'report_worker'] LOOP
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', owner_schema);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', owner_schema, owner_schema);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', owner_schema, owner_schema);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', owner_schema, owner_schema);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO %I', owner_schema, owner_schema);
    EXECUTE format(
      'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
      owner_schema, owner_schema);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I', owner_schema, owner_schema);
    -- A service's SQL names its tables unqualified and finds them in its own schema only.
    EXECUTE format('ALTER ROLE %I SET search_path = %I', owner_schema, owner_schema);
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), owner_schema);
  END LOOP;
  -- Everyone else (psql as postgres, the seed, the load test's audit, test fixtures) sees every
  -- service's tables by their plain names; new objects without a schema still land in public.
  EXECUTE format(
    'ALTER DATABASE %I SET search_path = "$user", public, order_api, notify_worker, report_worker',
    current_database());
END
$$;
