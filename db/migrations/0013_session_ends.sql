-- Sessions end in the stream's order: every session deleted before its expiry (sign-out,
-- a password reset, its user removed) leaves a session_ends row, whose capture into the
-- outbox gives the end a seq; the gateway closes that session's sockets at it. Sessions
-- get a public id (sid) for realtime tokens to name, so that neither the cookie nor its
-- hash goes into the outbox or onto the wire. Generated DDL first, then the triggers.
CREATE TABLE "session_ends" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"ended_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "sid" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
CREATE INDEX "session_ends_ended_at_idx" ON "session_ends" USING btree ("ended_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_sid_key" ON "sessions" USING btree ("sid");--> statement-breakpoint
-- Why the session ended comes from the deleting transaction (app.session_end, set by the
-- API and the users CLI); a session deleted by hand ends as 'session-ended'. An expired
-- session removed by the periodic clean-up ends nothing: its tokens can no longer be
-- renewed and die with their own expiry. SECURITY DEFINER: whoever may delete a session
-- records its end, and nobody writes session_ends directly.
CREATE OR REPLACE FUNCTION realtime_session_end() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF OLD.expires_at <= now() THEN RETURN NULL; END IF;
  INSERT INTO session_ends (id, user_id, reason)
  VALUES (OLD.sid, OLD.user_id, coalesce(nullif(current_setting('app.session_end', true), ''), 'session-ended'))
  ON CONFLICT (id) DO NOTHING;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE TRIGGER session_end AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION realtime_session_end();
--> statement-breakpoint
-- Captured like a streamed table's insert (the same function, so the same actor, txid and
-- NOTIFY), but under another trigger name: the catalog lists only `realtime_change`
-- tables, so no channel and no API resource serves it.
CREATE OR REPLACE TRIGGER session_end_capture AFTER INSERT ON session_ends
  FOR EACH ROW EXECUTE FUNCTION notify_row_change('id');
--> statement-breakpoint
-- The gateway (its own login role, migration 0012) checks that a token's session still
-- lives and how it ended: a session's public id, owner and expiry only, never its token's hash.
GRANT SELECT (sid, user_id, expires_at) ON sessions TO realtime_gateway_service;
--> statement-breakpoint
GRANT SELECT ON session_ends TO realtime_gateway_service;
--> statement-breakpoint
-- The API (its login role) prunes ended sessions' records a day after their end, now and then at sign-in.
GRANT SELECT (ended_at), DELETE ON session_ends TO realtime_api_service;
