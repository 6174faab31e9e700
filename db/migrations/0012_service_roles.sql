-- Custom migration: least privilege for the processes. Each connects as a login role of
-- its own (created with its password by the owner when it migrates, db/src/roles.ts),
-- which holds one of the NOLOGIN groups below and nothing else: no superuser, no
-- BYPASSRLS, no table it does not need. The owner keeps DDL, the publication and every
-- write to the app tables outside realtime_api's row-level security.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['realtime_api_service', 'realtime_gateway_service', 'realtime_replicator_service'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      -- Roles are cluster-wide: a database migrating beside this one may create it first.
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
END
$$;
--> statement-breakpoint
-- The API's own work, outside SET LOCAL ROLE realtime_api: sign-in (password hashes),
-- sessions, OIDC linking, /me's memberships, the list cursor and the operators' outbox,
-- retention pruning (deletes stamped changes, records the floor) and the pruning of
-- expired idempotency keys (their ids and age only, never the stored answers).
GRANT SELECT, UPDATE (oidc_subject, updated_at) ON users TO realtime_api_service;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO realtime_api_service;
--> statement-breakpoint
GRANT SELECT ON project_members TO realtime_api_service;
--> statement-breakpoint
GRANT SELECT (user_id, key, created_at), DELETE ON idempotency_keys TO realtime_api_service;
--> statement-breakpoint
GRANT SELECT, DELETE ON change_outbox TO realtime_api_service;
--> statement-breakpoint
GRANT SELECT, UPDATE (pruned_through) ON realtime_state TO realtime_api_service;
--> statement-breakpoint
GRANT SELECT ON realtime_status TO realtime_api_service;
--> statement-breakpoint
-- Row-level security is on for these tables; their policies so far name realtime_api only.
CREATE POLICY users_api_service_read ON users FOR SELECT TO realtime_api_service USING (true);
--> statement-breakpoint
CREATE POLICY users_api_service_link ON users FOR UPDATE TO realtime_api_service USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY project_members_api_service_read ON project_members FOR SELECT TO realtime_api_service USING (true);
--> statement-breakpoint
CREATE POLICY idempotency_keys_api_service_read ON idempotency_keys FOR SELECT TO realtime_api_service USING (true);
--> statement-breakpoint
CREATE POLICY idempotency_keys_api_service_prune ON idempotency_keys FOR DELETE TO realtime_api_service USING (true);
--> statement-breakpoint
-- The gateway only reads: stamped changes (live, replay, membership history), the head
-- and floor, and the catalog (pg_catalog, readable by every role).
GRANT SELECT ON change_outbox, realtime_state, realtime_status TO realtime_gateway_service;
--> statement-breakpoint
-- The replicator stamps (seq and committed_at only: the guard triggers refuse a restamp),
-- and keeps its own state: mode, leader, slot, the NOTIFY flag. Its login role has the
-- REPLICATION attribute for the slot, which is no privilege a group can pass on.
GRANT SELECT, UPDATE (seq, committed_at) ON change_outbox TO realtime_replicator_service;
--> statement-breakpoint
GRANT SELECT, UPDATE (notify_enabled, mode, reason, leader, leader_since, slot_name, slot_ready, updated_at) ON realtime_state TO realtime_replicator_service;
--> statement-breakpoint
GRANT SELECT ON realtime_status TO realtime_replicator_service;
--> statement-breakpoint
-- Databases created before Postgres 15 still let every role create objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
