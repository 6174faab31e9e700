-- The sort key of a timestamp in the API's lists (services/api/src/lists): the time cut
-- to the millisecond in UTC, as the API prints it, so that rows of one millisecond tie on
-- the server as they do in a browser and the key breaks the tie. plpgsql so that the
-- planner never inlines it into date_trunc, which would lose the LEAKPROOF mark: a page's
-- position `(realtime_list_time(created_at), id) < (...)` is then an index condition under
-- row-level security, not a filter over every row of the pages before it.
CREATE OR REPLACE FUNCTION realtime_list_time(t timestamptz) RETURNS timestamp
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ BEGIN RETURN date_trunc('milliseconds', t AT TIME ZONE 'UTC'); END $$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime_list_time(t timestamp) RETURNS timestamp
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ BEGIN RETURN date_trunc('milliseconds', t); END $$;--> statement-breakpoint
-- Only a superuser may mark a function LEAKPROOF (it never fails, so it tells nothing of a
-- row it is not shown). Without one, lists stay right; a deep page then filters the rows
-- before it instead of starting at its position.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION realtime_list_time(timestamptz) LEAKPROOF;
    ALTER FUNCTION realtime_list_time(timestamp) LEAKPROOF;
  ELSE
    RAISE WARNING 'realtime_list_time is not LEAKPROOF (the migration did not run as a superuser): deep list pages scan the rows before them; run ALTER FUNCTION realtime_list_time(timestamptz) LEAKPROOF; ALTER FUNCTION realtime_list_time(timestamp) LEAKPROOF; as a superuser';
  END IF;
END
$$;--> statement-breakpoint
DROP INDEX "data_layers_project_idx";--> statement-breakpoint
DROP INDEX "extraction_jobs_project_created_idx";--> statement-breakpoint
DROP INDEX "extraction_results_project_idx";--> statement-breakpoint
DROP INDEX "projects_created_at_idx";--> statement-breakpoint
DROP INDEX "supplier_matches_project_idx";--> statement-breakpoint
CREATE INDEX "data_layers_list_created_idx" ON "data_layers" USING btree ("project_id",realtime_list_time("created_at"),"id");--> statement-breakpoint
CREATE INDEX "data_layers_list_id_idx" ON "data_layers" USING btree ("project_id","id");--> statement-breakpoint
CREATE INDEX "extraction_jobs_list_created_idx" ON "extraction_jobs" USING btree ("project_id",realtime_list_time("created_at"),"id");--> statement-breakpoint
CREATE INDEX "extraction_jobs_list_id_idx" ON "extraction_jobs" USING btree ("project_id","id");--> statement-breakpoint
CREATE INDEX "extraction_results_list_created_idx" ON "extraction_results" USING btree ("project_id",realtime_list_time("created_at"),"id");--> statement-breakpoint
CREATE INDEX "extraction_results_list_id_idx" ON "extraction_results" USING btree ("project_id","id");--> statement-breakpoint
CREATE INDEX "projects_list_created_idx" ON "projects" USING btree (realtime_list_time("created_at"),"id");--> statement-breakpoint
CREATE INDEX "supplier_matches_list_created_idx" ON "supplier_matches" USING btree ("project_id",realtime_list_time("created_at"),"id");--> statement-breakpoint
CREATE INDEX "supplier_matches_list_id_idx" ON "supplier_matches" USING btree ("project_id","id");
