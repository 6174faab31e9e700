-- Custom migration: one access policy, enforced by Postgres. The API runs each request
-- as the NOLOGIN role realtime_api (SET LOCAL ROLE) with the user's id in app.user_id;
-- row-level security below decides what that role may read and write, so a route that
-- forgets a WHERE clause leaks nothing. Processes that connect as the owner (replicator,
-- gateway, seed, simulator, CLIs) are not subject to it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'realtime_api') THEN
    CREATE ROLE realtime_api NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
  END IF;
END
$$;
--> statement-breakpoint
-- The connecting role must be a member to SET ROLE (a superuser is one already).
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'realtime_api', 'MEMBER') THEN
    EXECUTE format('GRANT realtime_api TO %I', current_user);
  END IF;
END
$$;
--> statement-breakpoint
-- The capture trigger runs as its owner: realtime_api has no privilege on change_outbox
-- or realtime_state, so it can neither forge nor read changes, yet its writes are still
-- recorded. db_user keeps naming the role that wrote (SET ROLE's), not the owner.
CREATE OR REPLACE FUNCTION notify_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  new_json jsonb;
  old_json jsonb;
  outbox_id bigint;
BEGIN
  IF TG_OP <> 'DELETE' THEN new_json := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN old_json := to_jsonb(OLD); END IF;

  INSERT INTO change_outbox (table_name, op, row_id, new_row, old_row, txid, actor, actor_id, db_user, application_name)
  VALUES (
    TG_TABLE_NAME,
    TG_OP,
    coalesce(new_json, old_json) ->> coalesce(TG_ARGV[0], 'id'),
    new_json,
    old_json,
    pg_current_xact_id(),
    nullif(current_setting('app.actor', true), ''),
    nullif(current_setting('app.user_id', true), '')::uuid,
    CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role') END,
    nullif(current_setting('application_name'), '')
  )
  RETURNING id INTO outbox_id;

  -- NOTIFY takes a database-wide lock at commit, so it is sent only while the
  -- replicator has no WAL stream; the payload is a reference, never the row.
  IF (SELECT notify_enabled FROM realtime_state WHERE id = 1) THEN
    PERFORM pg_notify('realtime_outbox', outbox_id::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS change_outbox_immutable ON change_outbox;
--> statement-breakpoint
CREATE TRIGGER change_outbox_immutable
  BEFORE UPDATE OF id, table_name, op, row_id, new_row, old_row, txid, actor, actor_id, db_user, application_name, created_at
  ON change_outbox FOR EACH ROW EXECUTE FUNCTION change_outbox_guard();
--> statement-breakpoint
-- The signed-in user of this transaction (set by the API with set_config(..., true)).
CREATE OR REPLACE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
--> statement-breakpoint
-- The projects where the user holds at least `min_role`. SECURITY DEFINER so that the
-- policies of project_members do not recurse; policies call it as (SELECT ...), which
-- Postgres evaluates once per statement rather than once per row.
CREATE OR REPLACE FUNCTION app_project_ids(min_role text) RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(project_id), '{}') FROM project_members
  WHERE user_id = app_user_id()
    AND CASE min_role WHEN 'viewer' THEN true
                      WHEN 'editor' THEN role IN ('editor', 'owner')
                      ELSE role = 'owner' END
$$;
--> statement-breakpoint
-- Adding a member by email: an owner may look up an account it does not share a project with yet.
CREATE OR REPLACE FUNCTION app_user_id_by_email(address text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id FROM users WHERE email = lower(trim(address)) AND app_user_id() IS NOT NULL
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app_project_ids(text) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app_user_id_by_email(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app_project_ids(text), app_user_id_by_email(text), app_user_id() TO realtime_api;
--> statement-breakpoint
-- Whoever creates a project owns it. A trigger, so that no route can forget it.
CREATE OR REPLACE FUNCTION projects_creator_owns() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF app_user_id() IS NOT NULL THEN
    INSERT INTO project_members (project_id, user_id, role) VALUES (NEW.id, app_user_id(), 'owner');
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER projects_creator_owns AFTER INSERT ON projects FOR EACH ROW EXECUTE FUNCTION projects_creator_owns();
--> statement-breakpoint
-- A membership names one user in one project for its whole life; the stream's grant
-- history (keyed by user) relies on it.
CREATE OR REPLACE FUNCTION project_members_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'project_members: project_id and user_id cannot change; delete the membership and add another'
    USING ERRCODE = 'check_violation';
END
$$;
--> statement-breakpoint
CREATE TRIGGER project_members_fixed BEFORE UPDATE OF project_id, user_id ON project_members
  FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id OR OLD.user_id IS DISTINCT FROM NEW.user_id)
  EXECUTE FUNCTION project_members_fixed();
--> statement-breakpoint
-- Memberships are streamed like any other table: a grant or a revocation gets a seq,
-- and the gateway applies it in order.
SELECT realtime_enable('project_members');
--> statement-breakpoint
-- The gateway reads one user's membership history by seq (kept by retention).
CREATE INDEX IF NOT EXISTS change_outbox_membership_idx ON change_outbox
  ((coalesce(new_row ->> 'user_id', old_row ->> 'user_id')), seq) WHERE table_name = 'project_members';
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON projects, extraction_jobs, extraction_results, data_layers, supplier_matches, project_members TO realtime_api;
--> statement-breakpoint
-- Never password_hash or oidc_subject.
GRANT SELECT (id, email, name, operator, created_at) ON users TO realtime_api;
--> statement-breakpoint
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY projects_read ON projects FOR SELECT TO realtime_api USING (id = ANY ((SELECT app_project_ids('viewer'))::uuid[]));
--> statement-breakpoint
CREATE POLICY projects_create ON projects FOR INSERT TO realtime_api WITH CHECK (app_user_id() IS NOT NULL);
--> statement-breakpoint
CREATE POLICY projects_change ON projects FOR UPDATE TO realtime_api
  USING (id = ANY ((SELECT app_project_ids('owner'))::uuid[])) WITH CHECK (id = ANY ((SELECT app_project_ids('owner'))::uuid[]));
--> statement-breakpoint
CREATE POLICY projects_delete ON projects FOR DELETE TO realtime_api USING (id = ANY ((SELECT app_project_ids('owner'))::uuid[]));
--> statement-breakpoint
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['extraction_jobs', 'extraction_results', 'data_layers', 'supplier_matches'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO realtime_api USING (project_id = ANY ((SELECT app_project_ids(''viewer''))::uuid[]))', t || '_read', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT TO realtime_api WITH CHECK (project_id = ANY ((SELECT app_project_ids(''editor''))::uuid[]))', t || '_create', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE TO realtime_api USING (project_id = ANY ((SELECT app_project_ids(''editor''))::uuid[])) WITH CHECK (project_id = ANY ((SELECT app_project_ids(''editor''))::uuid[]))', t || '_change', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE TO realtime_api USING (project_id = ANY ((SELECT app_project_ids(''editor''))::uuid[]))', t || '_delete', t);
  END LOOP;
END
$$;
--> statement-breakpoint
ALTER TABLE project_members ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY project_members_read ON project_members FOR SELECT TO realtime_api
  USING (user_id = app_user_id() OR project_id = ANY ((SELECT app_project_ids('viewer'))::uuid[]));
--> statement-breakpoint
CREATE POLICY project_members_create ON project_members FOR INSERT TO realtime_api WITH CHECK (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]));
--> statement-breakpoint
CREATE POLICY project_members_change ON project_members FOR UPDATE TO realtime_api
  USING (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[])) WITH CHECK (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]));
--> statement-breakpoint
-- An owner removes anyone; a member may leave.
CREATE POLICY project_members_delete ON project_members FOR DELETE TO realtime_api
  USING (user_id = app_user_id() OR project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]));
--> statement-breakpoint
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
-- Oneself, and the people one shares a project with (a members list names them).
CREATE POLICY users_read ON users FOR SELECT TO realtime_api
  USING (id = app_user_id() OR id IN (SELECT user_id FROM project_members WHERE project_id = ANY ((SELECT app_project_ids('viewer'))::uuid[])));
