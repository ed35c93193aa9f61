CREATE TABLE "ups_readings" (
	"ups" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"charge" real,
	"runtime" real,
	"load" real,
	"voltage" real,
	"on_battery" boolean DEFAULT false NOT NULL,
	"samples" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "ups_readings_ups_minute_pk" PRIMARY KEY("ups","minute")
);
