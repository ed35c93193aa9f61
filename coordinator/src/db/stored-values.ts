/**
 * The shapes of the `jsonb` columns (`$type<>()` in schema.ts) and the schemas they are checked
 * with when a row is read (parseStored): a value this version cannot read stops with a
 * StoredDataError instead of being trusted as-is. The engine state's schema is in
 * core/engine-state-schema.ts; the policy document and a channel's settings are parsed by their own
 * schemas (core/policy.ts, notify/channels.ts); an outbox message is an object here and is read as
 * a message in notify/ (notify/stored-message.ts); a setting's value by the schema of its key.
 */
import { z } from 'zod';
import { Ed25519PublicJwkSchema } from '../../../shared/src/protocol.js';

/** A JSON object that another layer reads with its own schema. */
export type StoredObject = object;

/** A setting's value: an object (the signing key), a list (the key chain) or a number (a counter). */
export type SettingValue = object | number;

/** NUT variables as the watcher sends them: names to string values. */
export const UpsVarsSchema = z.record(z.string(), z.string());
export type UpsVars = Readonly<Record<string, string>>;

/** An agent's Ed25519 public key, as registered at enrollment. */
export const AgentPublicKeySchema = Ed25519PublicJwkSchema;
