ALTER TYPE "public"."order_kind" ADD VALUE 'nut-fsd';--> statement-breakpoint
CREATE TABLE "nut_credentials" (
	"username" text PRIMARY KEY NOT NULL,
	"host" text,
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
