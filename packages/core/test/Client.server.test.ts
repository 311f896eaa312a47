/**
 * The client against the real API on a node:http server: create, poll, result, upload, cancel
 * and the mapping of refusals to typed errors, over the wire.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Client from "../src/Client.js"
import type { ClientOptions } from "../src/Client.js"
import { UnsupportedResolutionError } from "../src/Errors.js"
import type { FaceAnalyzer } from "../src/FaceAnalyzer.js"
import { isVideoId } from "../src/Ids.js"
import * as Server from "../src/Server.js"
import { analysis, analyzerLayer, instantAnalyzer, jpegBytes, video } from "./helpers/fixtures.js"
import { serve } from "./helpers/HttpServer.js"

const apiKey = "test-key-1"

/** Fast polling: the server hints 10 ms and the client starts at 10 ms. */
const quickPoll: ClientOptions["poll"] = { initialDelay: "10 millis", maxDelay: "50 millis", timeout: "10 seconds" }

const startApi = (analyzer: Layer.Layer<FaceAnalyzer> = instantAnalyzer) =>
  serve(
    Server.layerMemory({
      apiKeys: [apiKey, "test-key-2"],
      config: { pollHint: Duration.millis(10), concurrency: 4 },
      fetchUrl: () => Effect.succeed(video())
    }).pipe(Layer.provide(analyzer))
  )

/** An analysis that signals `started` and never ends. */
const holdsForever = (started: Deferred.Deferred<void>) =>
  analyzerLayer(() => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))

const clientFor = (baseUrl: string, key = apiKey) => Client.make({ baseUrl, apiKey: key, poll: quickPoll })

describe("Client against the real API", () => {
  it.scopedLive("Client.make: create -> poll -> result, and the screenshot is served", () =>
    Effect.gen(function* () {
      const baseUrl = yield* startApi()
      const client = clientFor(baseUrl)
      const result = yield* client.identifyFaces({ videoUrl: "https://videos.example.com/clip.mp4" })
      expect(result.code).toBe(0)
      expect(result.message).toBe("SUCCEED")
      expect(result.data.face_data.map(({ face_id, start_time, end_time }) => ({ face_id, start_time, end_time }))).toEqual([
        { face_id: "0", start_time: 0, end_time: 5200 },
        { face_id: "1", start_time: 6000, end_time: 9000 }
      ])
      const image = result.data.face_data[0]?.face_image ?? ""
      expect(image.startsWith(`${baseUrl}/model/v1/files/`)).toBe(true)
      const screenshot = yield* Effect.promise(() => fetch(image))
      expect(screenshot.headers.get("content-type")).toBe("image/jpeg")
      expect(new Uint8Array(yield* Effect.promise(() => screenshot.arrayBuffer()))).toEqual(jpegBytes)
    }))

  it.scopedLive("Client.makePromise: upload a raw Blob, then identify faces in it by video_id", () =>
    Effect.gen(function* () {
      const baseUrl = yield* startApi()
      const client = Client.makePromise({ baseUrl, apiKey, poll: quickPoll })
      const bytes = new Uint8Array(4096).fill(7)
      const upload = yield* Effect.promise(() => client.uploadVideo(new Blob([bytes]), "video/mp4"))
      expect(isVideoId(upload.video_id)).toBe(true)
      expect(upload.bytes).toBe(4096)
      const task = yield* Effect.promise(() => client.createTask({ videoId: upload.video_id }))
      expect(task.status).toBe("pending")
      const result = yield* Effect.promise(() => client.identifyFaces({ videoId: upload.video_id }))
      expect(result.data.face_data).toHaveLength(analysis.faces.length)
      const refusal = yield* Effect.promise(() => client.getTask("task_00000000000000000000000000").catch((error: unknown) => error))
      expect(refusal).toMatchObject({ _tag: "NotFoundError", code: "404" })
    }))

  it.scopedLive("Client.makePromise: aborting the signal stops waiting for a task", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const baseUrl = yield* startApi(holdsForever(started))
      const client = Client.makePromise({ baseUrl, apiKey, poll: quickPoll })
      const controller = new AbortController()
      const waiting = client.identifyFaces({ videoUrl: "https://videos.example.com/long.mp4" }, { signal: controller.signal })
      yield* Deferred.await(started)
      controller.abort()
      const outcome = yield* Effect.promise(() => waiting.then(() => "resolved", () => "rejected"))
      expect(outcome).toBe("rejected")
    }))

  it.scopedLive("cancels a running task: 202 cancelled, then waiting on it fails with 014002099", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const baseUrl = yield* startApi(holdsForever(started))
      const client = clientFor(baseUrl)
      const task = yield* client.createTask({ videoUrl: "https://videos.example.com/long.mp4" })
      yield* Deferred.await(started)
      const cancelled = yield* client.cancelTask(task.id)
      expect(cancelled.status).toBe("cancelled")
      const waited = yield* client.waitForResult(task.id).pipe(Effect.flip)
      expect(waited).toMatchObject({ _tag: "TaskInterruptedError", code: "014002099" })
      const again = yield* client.cancelTask(task.id).pipe(Effect.flip)
      expect(again).toMatchObject({ _tag: "ConflictError", code: "409" })
    }))

  it.scopedLive("maps refusals to typed errors: 401, 404, 014002103, and a failed task's code", () =>
    Effect.gen(function* () {
      const baseUrl = yield* startApi()
      const wrongKey = yield* clientFor(baseUrl, "not-a-key").getTask("task_00000000000000000000000000").pipe(Effect.flip)
      expect(wrongKey).toMatchObject({ _tag: "UnauthorizedError", code: "401" })
      const client = clientFor(baseUrl)
      const unknownTask = yield* client.getTask("task_00000000000000000000000000").pipe(Effect.flip)
      expect(unknownTask).toMatchObject({ _tag: "NotFoundError", code: "404" })
      const unknownVideo = yield* client.createTask({ videoId: "vid_00000000000000000000000000" }).pipe(Effect.flip)
      expect(unknownVideo).toMatchObject({ _tag: "VideoNotFoundError", code: "014002103" })
      const refusedUrl = yield* client.createTask({ videoUrl: "http://169.254.169.254/latest" }).pipe(Effect.flip)
      expect(refusedUrl).toMatchObject({ _tag: "VideoUrlRefusedError", code: "014002104" })
      // Another tenant's task reads as unknown.
      const own = yield* client.createTask({ videoUrl: "https://videos.example.com/clip.mp4" })
      const foreign = yield* clientFor(baseUrl, "test-key-2").getTask(own.id).pipe(Effect.flip)
      expect(foreign).toMatchObject({ _tag: "NotFoundError", code: "404" })
    }))

  it.scopedLive("a task the analysis fails ends with the typed error of its code", () =>
    Effect.gen(function* () {
      const refuses = analyzerLayer(() => Effect.fail(new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" })))
      const baseUrl = yield* startApi(refuses)
      const error = yield* clientFor(baseUrl).identifyFaces({ videoUrl: "https://videos.example.com/small.mp4" }).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "UnsupportedResolutionError", code: "014002113", message: "resolution 640x480 is not 720p or 1080p" })
    }))
})
