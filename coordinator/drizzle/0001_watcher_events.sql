ALTER TABLE "ups_events" ADD COLUMN "dropped" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "ups_events" ADD COLUMN "dead" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "ups_states" ADD COLUMN "dead" boolean DEFAULT false NOT NULL;