-- A project's rows stay in it, people join a project by invitation, and a user's change
-- of memberships never leaves a project without an owner. drizzle-kit generated the
-- tables and constraints (the snapshot has them); the rest is hand-written below them,
-- in one file so that it applies, or not, as a whole.
--
-- Rows that referenced a parent in another project (a PATCH of jobId or resultId, a job
-- moved without its results) are mended first, or the constraints could not be added: a
-- result joins its job's project; a match keeps its project and drops the other
-- project's result.
UPDATE extraction_results r SET project_id = j.project_id, updated_at = now()
  FROM extraction_jobs j WHERE j.id = r.job_id AND r.project_id <> j.project_id;
--> statement-breakpoint
UPDATE supplier_matches m SET result_id = NULL, updated_at = now()
  FROM extraction_results r WHERE r.id = m.result_id AND r.project_id <> m.project_id;
--> statement-breakpoint
ALTER TABLE "extraction_jobs" ADD CONSTRAINT "extraction_jobs_id_project_key" UNIQUE("id","project_id");--> statement-breakpoint
ALTER TABLE "extraction_results" ADD CONSTRAINT "extraction_results_id_project_key" UNIQUE("id","project_id");--> statement-breakpoint
-- Whoever writes (the API, SQL, the simulator, the seed), a result names a job of its own
-- project and a match a result of its own; a parent that moves takes its children along.
ALTER TABLE "extraction_results" ADD CONSTRAINT "extraction_results_job_same_project_fk" FOREIGN KEY ("job_id","project_id") REFERENCES "public"."extraction_jobs"("id","project_id") ON DELETE cascade ON UPDATE cascade;--> statement-breakpoint
-- SET NULL of result_id alone (the schema cannot say so): a match outlives its result, in its project.
ALTER TABLE "supplier_matches" ADD CONSTRAINT "supplier_matches_result_same_project_fk" FOREIGN KEY ("result_id","project_id") REFERENCES "public"."extraction_results"("id","project_id") ON DELETE set null ("result_id") ON UPDATE cascade;--> statement-breakpoint
CREATE TABLE "project_invitations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"email" text NOT NULL,
	"role" text NOT NULL,
	"invited_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "project_invitations_email_check" CHECK ("project_invitations"."email" = lower("project_invitations"."email") and "project_invitations"."email" like '%_@_%'),
	CONSTRAINT "project_invitations_role_check" CHECK ("project_invitations"."role" in ('viewer', 'editor', 'owner'))
);
--> statement-breakpoint
ALTER TABLE "project_invitations" ADD CONSTRAINT "project_invitations_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project_invitations" ADD CONSTRAINT "project_invitations_invited_by_users_id_fk" FOREIGN KEY ("invited_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "project_invitations_project_email_key" ON "project_invitations" USING btree ("project_id","email");--> statement-breakpoint
CREATE INDEX "project_invitations_email_idx" ON "project_invitations" USING btree ("email");--> statement-breakpoint
-- Adding a member by email told the owner whether the address had an account, and put a
-- stranger's project in that account's list: owners now invite, and only the invitee's
-- acceptance makes a membership. Accounts are no longer looked up by email.
DROP FUNCTION IF EXISTS app_user_id_by_email(text);
--> statement-breakpoint
-- The signed-in user's email, which their invitations are addressed to.
CREATE OR REPLACE FUNCTION app_user_email() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT email FROM users WHERE id = app_user_id()
$$;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON project_invitations TO realtime_api;
--> statement-breakpoint
ALTER TABLE project_invitations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
-- Owners see, make, change and cancel their project's invitations; an invitee sees and
-- declines their own, and accepts through app_accept_invitation.
CREATE POLICY project_invitations_read ON project_invitations FOR SELECT TO realtime_api
  USING (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]) OR email = (SELECT app_user_email()));
--> statement-breakpoint
CREATE POLICY project_invitations_create ON project_invitations FOR INSERT TO realtime_api
  WITH CHECK (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]) AND invited_by = app_user_id());
--> statement-breakpoint
CREATE POLICY project_invitations_change ON project_invitations FOR UPDATE TO realtime_api
  USING (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[])) WITH CHECK (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]));
--> statement-breakpoint
CREATE POLICY project_invitations_delete ON project_invitations FOR DELETE TO realtime_api
  USING (project_id = ANY ((SELECT app_project_ids('owner'))::uuid[]) OR email = (SELECT app_user_email()));
--> statement-breakpoint
-- The invitee's pending invitations with what they need to decide: the project's name
-- and who invited them, which the policies of projects and users would not show them yet.
CREATE OR REPLACE FUNCTION app_my_invitations()
RETURNS TABLE (id uuid, project_id uuid, project_name text, role text, invited_by_name text, invited_by_email text, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.project_id, p.name, i.role, u.name, u.email, i.created_at
  FROM project_invitations i JOIN projects p ON p.id = i.project_id LEFT JOIN users u ON u.id = i.invited_by
  WHERE i.email = app_user_email()
  ORDER BY i.created_at, i.id
$$;
--> statement-breakpoint
-- Accepting: the invitation addressed to the signed-in user becomes their membership (a
-- project_members row, streamed like any grant), in one statement's worth of locking.
-- The membership policy admits only owners, hence SECURITY DEFINER; the address check is
-- the policy here. Null when there is no such invitation for this user. A member already
-- keeps their role.
CREATE OR REPLACE FUNCTION app_accept_invitation(invitation uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  inv project_invitations;
  member uuid;
BEGIN
  DELETE FROM project_invitations WHERE id = invitation AND email = app_user_email() RETURNING * INTO inv;
  IF NOT FOUND THEN RETURN NULL; END IF;
  INSERT INTO project_members (project_id, user_id, role) VALUES (inv.project_id, app_user_id(), inv.role)
    ON CONFLICT (project_id, user_id) DO NOTHING RETURNING id INTO member;
  IF member IS NULL THEN
    SELECT id INTO member FROM project_members WHERE project_id = inv.project_id AND user_id = app_user_id();
  END IF;
  RETURN member;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION app_user_email(), app_my_invitations(), app_accept_invitation(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app_user_email(), app_my_invitations(), app_accept_invitation(uuid) TO realtime_api;
--> statement-breakpoint
-- A change made as a user (app.user_id set: the API) that demotes or removes an owner
-- must leave the project one. Checked in the database because two requests that each
-- see another owner can otherwise both commit. The project row's lock puts one owner
-- removal of a project after the other, and the count, a statement of its own, then
-- reads what the first committed (read committed takes a snapshot per statement).
-- Repeatable read keeps its first snapshot, so there the owner rows are locked too: one
-- that another removal changed fails the transaction (serializable finds the write skew
-- by itself). Writes without a user (operators' SQL, the CLIs) stay free to repair, and
-- a project being deleted takes its memberships with it.
CREATE OR REPLACE FUNCTION project_members_keep_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF app_user_id() IS NULL OR OLD.role <> 'owner' OR (TG_OP = 'UPDATE' AND NEW.role = 'owner') THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM projects WHERE id = OLD.project_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF current_setting('transaction_isolation') = 'repeatable read' THEN
    PERFORM 1 FROM project_members WHERE project_id = OLD.project_id AND role = 'owner' FOR KEY SHARE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM project_members WHERE project_id = OLD.project_id AND role = 'owner') THEN
    RAISE EXCEPTION 'project % would be left without an owner', OLD.project_id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'project_members_last_owner',
            HINT = 'Make someone else an owner first, or delete the project.';
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER project_members_keep_owner AFTER UPDATE OF role OR DELETE ON project_members
  FOR EACH ROW EXECUTE FUNCTION project_members_keep_owner();
