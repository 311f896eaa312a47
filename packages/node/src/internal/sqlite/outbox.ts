/**
 * The webhook outbox over an open database (core's `WebhookOutbox`): a row per callback owed,
 * written by the task store with the write that ends its task. Each operation is one statement
 * or one synchronous transaction, so no other fiber cuts into a claim.
 */
import type { WebhookOutboxService } from "@identify-face/core/WebhookOutbox"
import type { Database } from "better-sqlite3"
import * as Effect from "effect/Effect"

/**
 * The outbox of `db`, migrated. One process uses a database, so a claim found at the start is a
 * killed process's: it is released, due at `now`, its attempt counted (the receiver may have had it).
 */
export const make = (db: Database, now: number): WebhookOutboxService => {
  db.prepare("UPDATE webhook_outbox SET claim = NULL, due_at = min(due_at, ?) WHERE claim IS NOT NULL").run(now)
  const selectDue = db.prepare<[number, number], string>("SELECT task_id FROM webhook_outbox WHERE due_at <= ? ORDER BY due_at LIMIT ?").pluck()
  const claim = db.prepare<[string, number, string, number]>(
    "UPDATE webhook_outbox SET claim = ?, due_at = ?, attempts = attempts + 1 WHERE task_id = ? AND due_at <= ? RETURNING attempts"
  )
  const renew = db.prepare<[number, string, string]>("UPDATE webhook_outbox SET due_at = ? WHERE task_id = ? AND claim = ?")
  const done = db.prepare<[string, string]>("DELETE FROM webhook_outbox WHERE task_id = ? AND claim = ?")
  const retry = db.prepare<[number, number, string, string]>(
    "UPDATE webhook_outbox SET claim = NULL, due_at = ?, attempts = attempts - ? WHERE task_id = ? AND claim = ?"
  )

  return {
    due: (now, limit) => Effect.sync(() => selectDue.all(now, limit)),
    claim: (id, token, now, until) =>
      Effect.sync(() => (claim.get(token, until, id, now) as { readonly attempts: number } | undefined)?.attempts ?? 0),
    renew: (id, token, until) => Effect.sync(() => renew.run(until, id, token).changes === 1),
    settle: (id, token, { refund, retryAt }) =>
      Effect.sync(() => (retryAt === undefined ? done.run(id, token) : retry.run(retryAt, refund === true ? 1 : 0, id, token)).changes === 1)
  }
}
