/**
 * identify-face inside your own Effect runtime: the API's services built once, in memory, over
 * the analyzer you choose; requests answered by `HttpApi.handle` with no HTTP server; your
 * program talking to it through the typed client on an in-process `fetch`.
 */
import { Client, HttpApi, Server } from "@identify-face/core"
import type { FaceAnalyzer } from "@identify-face/core"
import { Effect, Layer, ManagedRuntime } from "effect"

const API_KEY = "in-process"

/**
 * The API's services, tasks and uploads in memory, over `analyzer` (`NodeFaceAnalyzer.layer()`
 * for the real analysis). Every service is a Context tag: swap any for your own.
 */
export const makeRuntime = (analyzer: Layer.Layer<FaceAnalyzer.FaceAnalyzer>) =>
  ManagedRuntime.make(Server.layerMemory({ apiKeys: [API_KEY] }).pipe(Layer.provide(analyzer)))

/** The typed client, its requests answered by the runtime in this process. */
export const inProcessClient = (runtime: ReturnType<typeof makeRuntime>) =>
  Client.layer({
    baseUrl: "http://identify-face.internal",
    apiKey: API_KEY,
    fetch: (input, init) => runtime.runPromise(HttpApi.handle(new Request(input, init)))
  })

/** Your program: upload a clip and say when each face in it can be lip-synced. */
export const describeFaces = (clip: Blob) =>
  Effect.gen(function* () {
    const client = yield* Client.IdentifyFaceClient
    const upload = yield* client.uploadVideo(clip)
    const result = yield* client.identifyFaces({ videoId: upload.video_id })
    return result.data.face_data.map((face) => `face ${face.face_id}: ${face.start_time}-${face.end_time} ms`)
  })
