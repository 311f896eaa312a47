/**
 * Worker-thread entry: one human detector per thread, answering detect requests one at a time.
 */
import { parentPort, workerData } from "node:worker_threads"
import type { Detection, DetectOptions } from "./FaceDetector.js"
import { createHumanDetector, type HumanDetectorOptions } from "./humanDetector.js"
import { lowerThreadPriority } from "./priority.js"

/** Main thread to worker: detect faces in a frame whose buffer was transferred. */
export interface DetectRequest {
  readonly id: number
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
  readonly options: DetectOptions
}

/** Worker to main thread. */
export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly detections: ReadonlyArray<Detection> }
  | { readonly type: "error"; readonly id: number; readonly message: string }

const port = parentPort
if (port === null) throw new Error("detectorWorker must run in a worker thread")
// A frame blocks this thread for 50-100 ms: behind the event loop that answers requests, not beside it.
lowerThreadPriority()
const post = (message: WorkerMessage) => port.postMessage(message)
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

try {
  const detector = await createHumanDetector(workerData as HumanDetectorOptions)
  // The pool sends one request at a time per worker; chaining keeps the model single-entrant anyway.
  let queue = Promise.resolve()
  port.on("message", (request: DetectRequest) => {
    queue = queue.then(async () => {
      try {
        const detections = await detector.detect(request, request.options)
        post({ type: "result", id: request.id, detections })
      } catch (error) {
        post({ type: "error", id: request.id, message: messageOf(error) })
      }
    })
  })
  post({ type: "ready" })
} catch (error) {
  post({ type: "failed", message: messageOf(error) })
}
