ALTER TABLE "nut_credentials" ADD COLUMN "login_name" text;--> statement-breakpoint
ALTER TABLE "nut_credentials" ADD COLUMN "source_addresses" text[];