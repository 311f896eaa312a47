/**
 * Polls read a task far more often than it changes: the SQLite task store decodes a task again
 * only when its stored JSON changed, whoever changed it.
 */
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { makeRequestId, makeSessionId, makeTaskId } from "@identify-face/core/Ids"
import type * as Task from "@identify-face/core/Task"
import { MODEL } from "@identify-face/core/Wire"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as SqliteStore from "../src/SqliteStore.js"
import { tempDir } from "./support/tempDir.js"

const NOW = 1_764_140_000_000

const pendingTask = (): Task.PendingTask => ({
  _tag: "pending",
  id: makeTaskId(),
  tenant: "tenant_a",
  model: MODEL,
  video: { _tag: "VideoUrl", url: "https://videos.example.com/clip.mp4" },
  requestId: makeRequestId(),
  sessionId: makeSessionId(),
  createdAt: NOW,
  updatedAt: NOW,
  expiresAt: NOW + 24 * 60 * 60 * 1000,
  attempts: 0
})

describe("SqliteStore task reads", () => {
  it.scoped("answer the task decoded before while it is unchanged, and the new one once another connection changed it", () =>
    Effect.gen(function* () {
      const filename = join(yield* tempDir("sqlite-reads"), "identify-face.db")
      // Two connections to one file, as a restarted process beside a running one would be.
      const reader = (yield* SqliteStore.make({ filename })).tasks
      const writer = (yield* SqliteStore.make({ filename })).tasks
      const task = pendingTask()
      yield* writer.insert(task)
      const first = Option.getOrThrow(yield* reader.get(task.id))
      expect(first).toEqual(task)
      expect(Option.getOrThrow(yield* reader.get(task.id))).toBe(first)

      const started: Task.Task = { ...task, _tag: "processing", progress: 0.5, updatedAt: NOW + 1000, attempts: 1 }
      yield* writer.modify(task.id, () => Either.right(started))
      expect(yield* reader.get(task.id)).toEqual(Option.some(started))
      yield* writer.remove(task.id)
      expect(yield* reader.get(task.id)).toEqual(Option.none())
    }))
})
