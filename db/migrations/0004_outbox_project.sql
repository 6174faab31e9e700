ALTER TABLE "change_outbox" ADD COLUMN "project_id" text;--> statement-breakpoint
ALTER TABLE "change_outbox" ADD COLUMN "moved_from" text;--> statement-breakpoint
ALTER TABLE "change_outbox" ADD COLUMN "row_bytes" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "change_outbox_project_idx" ON "change_outbox" USING btree ("table_name","project_id","seq") WHERE "change_outbox"."seq" is not null and "change_outbox"."project_id" is not null;--> statement-breakpoint
CREATE INDEX "change_outbox_moved_idx" ON "change_outbox" USING btree ("table_name","moved_from","seq") WHERE "change_outbox"."seq" is not null and "change_outbox"."moved_from" is not null;