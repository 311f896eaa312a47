/**
 * The schema of the SQLite database, as forward-only migrations. A migration is never edited
 * once released: a change is a new one with the next version.
 */
import type { Database } from "better-sqlite3"

/** One step of the schema. */
export interface Migration {
  readonly version: number
  readonly sql: string
}

/** Every migration, in version order. */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    // The full task is JSON of core's `Task` Schema; the columns beside it are copies kept for the indexes.
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        task TEXT NOT NULL
      );
      CREATE INDEX tasks_status_created_at ON tasks (status, created_at);
      CREATE INDEX tasks_expires_at ON tasks (expires_at);
    `
  },
  {
    version: 2,
    sql: `
      CREATE TABLE idempotency_keys (
        tenant TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        task_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, key)
      ) WITHOUT ROWID;
      CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
    `
  },
  {
    version: 3,
    // The callbacks owed (see core's WebhookOutbox): a row is written with the write that ends its
    // task, and deleted with the task. due_at is when it is next due, while claimed when the claim
    // runs out; attempts counts the attempts started; claim is the claimant's token.
    sql: `
      CREATE TABLE webhook_outbox (
        task_id TEXT PRIMARY KEY,
        due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claim TEXT
      ) WITHOUT ROWID;
      CREATE INDEX webhook_outbox_due_at ON webhook_outbox (due_at);
    `
  }
]

/**
 * Brings the database up to the last of `steps` in one transaction, so a crash leaves it at the
 * version it had. Answers the version it is at. A database newer than `steps` is refused: this
 * build would misread it.
 */
export const migrate = (db: Database, steps: ReadonlyArray<Migration> = migrations): number =>
  db
    .transaction(() => {
      db.exec("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
      const { current } = db.prepare("SELECT coalesce(max(version), 0) AS current FROM migrations").get() as { current: number }
      const latest = steps.at(-1)?.version ?? 0
      if (current > latest) {
        throw new Error(`identify-face: ${db.name} is at schema version ${current}, newer than this version knows (${latest})`)
      }
      const record = db.prepare("INSERT INTO migrations (version, applied_at) VALUES (?, ?)")
      for (const step of steps) {
        if (step.version <= current) continue
        db.exec(step.sql)
        record.run(step.version, Date.now())
      }
      return latest
    })
    // IMMEDIATE takes the write lock first, so two processes opening a new file do not both migrate it.
    .immediate()
