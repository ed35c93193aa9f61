CREATE TYPE "public"."order_kind" AS ENUM('shutdown', 'wake', 'ups-power-off');--> statement-breakpoint
CREATE TYPE "public"."run_kind" AS ENUM('outage', 'drill');--> statement-breakpoint
CREATE TYPE "public"."run_phase" AS ENUM('active', 'restoring');--> statement-breakpoint
CREATE TABLE "engine_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"state" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"stage" text,
	"host" text,
	"detail" text
);
--> statement-breakpoint
DROP INDEX "runs_one_active_per_ups";--> statement-breakpoint
ALTER TABLE "runs" ALTER COLUMN "ups" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "kind" "order_kind" DEFAULT 'shutdown' NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "number" integer;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "kind" "run_kind" DEFAULT 'outage' NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "phase" "run_phase" DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "ups_events" ADD COLUMN "token_hash" text;--> statement-breakpoint
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "run_events_run" ON "run_events" USING btree ("run_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_one_active" ON "runs" USING btree ("state") WHERE "runs"."state" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "runs_number" ON "runs" USING btree ("number");