/**
 * Sample values of the wire contract and the analysis, shared by the tests.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Tenant } from "../../src/Authenticator.js"
import type { TaskInput } from "../../src/CreateRequest.js"
import { FaceAnalyzer } from "../../src/FaceAnalyzer.js"
import type { Analysis, FaceAnalyzerService } from "../../src/FaceAnalyzer.js"
import { makeRequestId, makeSessionId, makeTaskId } from "../../src/Ids.js"
import type { PendingTask } from "../../src/Task.js"
import type { Video } from "../../src/VideoSource.js"
import { MODEL } from "../../src/Wire.js"
import type { FaceResult } from "../../src/Wire.js"

/** The first bytes of a JPEG: what a screenshot holds in these tests. */
export const jpegBytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])

/** An analysis that found two faces. */
export const analysis: Analysis = {
  metadata: { duration_ms: 14_000, width: 1920, height: 1080, fps: 30, format: "mp4" },
  faces: [
    { startMs: 0, endMs: 5200, image: jpegBytes },
    { startMs: 6000, endMs: 9000, image: jpegBytes }
  ],
  timings: { probe: 3, analyze: 40 }
}

/** A FaceAnalyzer layer around one `analyze` function. */
export const analyzerLayer = (analyze: FaceAnalyzerService["analyze"]): Layer.Layer<FaceAnalyzer> =>
  Layer.succeed(FaceAnalyzer, { analyze })

/** An analyzer that reports some progress and finds {@link analysis} at once. */
export const instantAnalyzer = analyzerLayer((_, onProgress) => Effect.as(onProgress(0.5), analysis))

/** A small video, as a video source or upload store hands it out. */
export const video = (bytes: Uint8Array = new Uint8Array([0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70])): Video => ({
  bytes: bytes.byteLength,
  path: undefined,
  stream: Stream.make(bytes)
})

export const alice: Tenant = { id: "tenant_alice" }
export const bob: Tenant = { id: "tenant_bob" }

/** A create input with a public video URL. */
export const urlInput = (url = "https://videos.example.com/clip.mp4"): TaskInput => ({
  model: MODEL,
  video: { _tag: "VideoUrl", url }
})

/** A kept task as the engine accepts it, created at 0 and kept for a day. */
export const pendingTask = (overrides: Partial<PendingTask> = {}): PendingTask => ({
  _tag: "pending",
  id: makeTaskId(),
  tenant: alice.id,
  model: MODEL,
  video: { _tag: "VideoUrl", url: "https://videos.example.com/clip.mp4" },
  requestId: makeRequestId(),
  sessionId: makeSessionId(),
  createdAt: 0,
  updatedAt: 0,
  expiresAt: 86_400_000,
  attempts: 0,
  ...overrides
})

/** A result as the server would send it. */
export const faceResult: FaceResult = {
  code: 0,
  message: "SUCCEED",
  request_id: "req_00000000000000000000000000",
  data: {
    session_id: "ses_00000000000000000000000000",
    final_unit_deduction: "1",
    face_data: [{ face_id: "0", face_image: "https://api.example.com/model/v1/files/x.jpg", start_time: 0, end_time: 5200 }]
  }
}

/** A wire task object in a status, with extra fields. */
export const wireTask = (status: string, extra: Record<string, unknown> = {}) => ({
  id: "task_00000000000000000000000000",
  model: MODEL,
  status,
  created_at: 1_764_140_000,
  updated_at: 1_764_140_000,
  ...extra
})

/** A completed wire task whose output text is `text`. */
export const completedTask = (text = JSON.stringify(faceResult)) =>
  wireTask("completed", { output: [{ content: [{ type: "text", text, url: "" }] }], usage: { cost: "0.0000", discount: 0 } })

/** A failed wire task with an error object. */
export const failedTask = (code: string, message = "it failed") =>
  wireTask("failed", { error: { code, error_message: message } })
