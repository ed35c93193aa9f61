CREATE TYPE "public"."ack_status" AS ENUM('accepted', 'duplicate', 'rejected');--> statement-breakpoint
CREATE TYPE "public"."agent_status" AS ENUM('active', 'revoked');--> statement-breakpoint
CREATE TYPE "public"."order_outcome" AS ENUM('started', 'succeeded', 'failed', 'drill');--> statement-breakpoint
CREATE TYPE "public"."power_state" AS ENUM('online', 'battery', 'unknown');--> statement-breakpoint
CREATE TYPE "public"."run_state" AS ENUM('active', 'ended');--> statement-breakpoint
CREATE TABLE "agents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"public_key" jsonb NOT NULL,
	"kid" text NOT NULL,
	"status" "agent_status" DEFAULT 'active' NOT NULL,
	"enrolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone,
	"last_event_seq" bigint
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"scopes" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_name_unique" UNIQUE("name"),
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "enrollments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"agent_id" uuid,
	CONSTRAINT "enrollments_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"host" text NOT NULL,
	"stage" text NOT NULL,
	"drill" boolean DEFAULT false NOT NULL,
	"token" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"last_sent_at" timestamp with time zone,
	"ack_status" "ack_status",
	"ack_reason" text,
	"acked_at" timestamp with time zone,
	"outcome" "order_outcome",
	"outcome_at" timestamp with time zone,
	"exit_code" integer,
	"output" text,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "policies_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"document" jsonb NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"ups" text NOT NULL,
	"state" "run_state" DEFAULT 'active' NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	"fired_stages" text[] DEFAULT '{}'::text[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ups_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ups" text NOT NULL,
	"agent_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"events" text[] NOT NULL,
	"status" text[],
	"vars" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ups_states" (
	"ups" text PRIMARY KEY NOT NULL,
	"power" "power_state" NOT NULL,
	"power_since" timestamp with time zone NOT NULL,
	"status" text[],
	"vars" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_events" text[] NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"reported_by" uuid NOT NULL
);
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ups_events" ADD CONSTRAINT "ups_events_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agents_active_name" ON "agents" USING btree ("name") WHERE "agents"."status" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "orders_run_stage_agent" ON "orders" USING btree ("run_id","stage","agent_id");--> statement-breakpoint
CREATE INDEX "orders_agent" ON "orders" USING btree ("agent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_one_active_per_ups" ON "runs" USING btree ("ups") WHERE "runs"."state" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "ups_events_agent_seq" ON "ups_events" USING btree ("agent_id","seq");--> statement-breakpoint
CREATE INDEX "ups_events_ups_time" ON "ups_events" USING btree ("ups","observed_at");