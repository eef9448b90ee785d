-- The outbox keeps each message's data only; the relay wraps it in the envelope (messageId, type,
-- version, occurredAt, correlationId) when it publishes, from the row's id, message_type, created_at and
-- headers. Rows still waiting to be published that hold a whole envelope keep only its data, so they go
-- out exactly as before.
UPDATE "order_api"."outbox_messages"
   SET "payload" = "payload" -> 'data'
 WHERE "published_at" IS NULL
   AND jsonb_typeof("payload") = 'object'
   AND "payload" ? 'messageId'
   AND "payload" ? 'data';
