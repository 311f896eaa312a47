/**
 * Opens the SQLite database of the stores. better-sqlite3 is synchronous, and its statements run
 * on the event loop rather than in a worker: each is indexed work on one row, so a transaction is
 * short and no other fiber can cut into it. Measured CPU time: a `modify` about 0.2 ms (most of
 * it the Schema), reading a task with 200 faces (22 KB of JSON) 0.5 ms, `active` over 1,000 tasks
 * (once, at start) 12 ms.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import SqliteDatabase from "better-sqlite3"
import type { Database } from "better-sqlite3"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { migrate } from "./migrations.js"

/** Opens (creating it if needed) and migrates the database at `filename`; it closes with the scope. */
export const open = (filename: string): Effect.Effect<Database, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync((): Database => {
      mkdirSync(dirname(filename), { recursive: true })
      const db = new SqliteDatabase(filename)
      try {
        db.pragma("journal_mode = WAL")
        // In WAL mode NORMAL loses no commit when the process dies, only on power loss or an OS
        // crash; FULL would wait for an fsync on the event loop at every progress update.
        db.pragma("synchronous = NORMAL")
        // Another process (a backup, the sqlite3 shell) may hold the lock for a moment.
        db.pragma("busy_timeout = 5000")
        migrate(db)
        return db
      } catch (error) {
        db.close()
        throw error
      }
    }),
    (db) => Effect.sync(() => db.close())
  )
