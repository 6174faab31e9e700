CREATE TABLE "data_layers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"source" text NOT NULL,
	"visible" boolean DEFAULT true NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "data_layers_kind_check" CHECK ("data_layers"."kind" in ('vector', 'raster', 'table', 'document'))
);
--> statement-breakpoint
CREATE TABLE "extraction_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"document_name" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "extraction_jobs_status_check" CHECK ("extraction_jobs"."status" in ('queued', 'processing', 'completed', 'failed')),
	CONSTRAINT "extraction_jobs_progress_check" CHECK ("extraction_jobs"."progress" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "extraction_results" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"job_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"field_name" text NOT NULL,
	"value" text NOT NULL,
	"confidence" real NOT NULL,
	"page" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "extraction_results_confidence_check" CHECK ("extraction_results"."confidence" between 0 and 1),
	CONSTRAINT "extraction_results_page_check" CHECK ("extraction_results"."page" is null or "extraction_results"."page" >= 1)
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "projects_status_check" CHECK ("projects"."status" in ('active', 'archived'))
);
--> statement-breakpoint
CREATE TABLE "supplier_matches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"result_id" uuid,
	"supplier_name" text NOT NULL,
	"score" real NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "supplier_matches_score_check" CHECK ("supplier_matches"."score" between 0 and 1),
	CONSTRAINT "supplier_matches_status_check" CHECK ("supplier_matches"."status" in ('pending', 'confirmed', 'rejected'))
);
--> statement-breakpoint
CREATE TABLE "change_outbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "change_outbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"seq" bigint,
	"table_name" text NOT NULL,
	"op" text NOT NULL,
	"row_id" text NOT NULL,
	"new_row" jsonb,
	"old_row" jsonb,
	"txid" "xid8" NOT NULL,
	"actor" text,
	"db_user" text NOT NULL,
	"application_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"committed_at" timestamp with time zone,
	CONSTRAINT "change_outbox_op_check" CHECK ("change_outbox"."op" in ('INSERT', 'UPDATE', 'DELETE'))
);
--> statement-breakpoint
CREATE TABLE "realtime_state" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"notify_enabled" boolean DEFAULT false NOT NULL,
	"mode" text DEFAULT 'down' NOT NULL,
	"leader" text,
	"leader_since" timestamp with time zone,
	"slot_name" text,
	"slot_ready" boolean DEFAULT false NOT NULL,
	"pruned_through" bigint DEFAULT 0 NOT NULL,
	"reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "realtime_state_singleton" CHECK ("realtime_state"."id" = 1),
	CONSTRAINT "realtime_state_mode_check" CHECK ("realtime_state"."mode" in ('wal', 'notify', 'down'))
);
--> statement-breakpoint
ALTER TABLE "data_layers" ADD CONSTRAINT "data_layers_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "extraction_jobs" ADD CONSTRAINT "extraction_jobs_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "extraction_results" ADD CONSTRAINT "extraction_results_job_id_extraction_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."extraction_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "extraction_results" ADD CONSTRAINT "extraction_results_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_matches" ADD CONSTRAINT "supplier_matches_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_matches" ADD CONSTRAINT "supplier_matches_result_id_extraction_results_id_fk" FOREIGN KEY ("result_id") REFERENCES "public"."extraction_results"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "data_layers_project_idx" ON "data_layers" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "extraction_jobs_project_created_idx" ON "extraction_jobs" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "extraction_results_job_idx" ON "extraction_results" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "extraction_results_project_idx" ON "extraction_results" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "projects_created_at_idx" ON "projects" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "supplier_matches_project_idx" ON "supplier_matches" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "supplier_matches_result_idx" ON "supplier_matches" USING btree ("result_id");--> statement-breakpoint
CREATE UNIQUE INDEX "change_outbox_seq_key" ON "change_outbox" USING btree ("seq") WHERE "change_outbox"."seq" is not null;--> statement-breakpoint
CREATE INDEX "change_outbox_unstamped_idx" ON "change_outbox" USING btree ("id") WHERE "change_outbox"."seq" is null;--> statement-breakpoint
CREATE INDEX "change_outbox_table_row_idx" ON "change_outbox" USING btree ("table_name","row_id","id");--> statement-breakpoint
CREATE INDEX "change_outbox_created_at_brin" ON "change_outbox" USING brin ("created_at");