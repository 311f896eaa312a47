/**
 * Tasks to store in tests.
 */
import { makeRequestId, makeSessionId, makeTaskId } from "@identify-face/core/Ids"
import type * as Task from "@identify-face/core/Task"

/** A pending task created at `createdAt`, expiring a day later unless told. */
export const pendingTask = (createdAt: number, expiresAt = createdAt + 86_400_000): Task.PendingTask => ({
  _tag: "pending",
  id: makeTaskId(),
  tenant: "tenant_a",
  model: "kirin_identify_face",
  video: { _tag: "VideoUrl", url: "https://cdn.example.com/clip.mp4" },
  requestId: makeRequestId(),
  sessionId: makeSessionId(),
  createdAt,
  updatedAt: createdAt,
  expiresAt,
  attempts: 0
})
