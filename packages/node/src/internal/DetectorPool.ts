/**
 * Face detection on a pool of worker threads, so the event loop that answers HTTP requests never
 * waits on a model. Frames are transferred to the workers, not copied.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { DetectRequest, WorkerMessage } from "./detectorWorker.js"
import type { Detection, DetectOptions, FaceDetector } from "./FaceDetector.js"
import type { RgbFrame } from "./FrameDecoder.js"
import type { HumanDetectorOptions } from "./humanDetector.js"
import { siblingModule } from "./sibling.js"

/** Pool size and detector tuning. */
export interface DetectorPoolOptions extends HumanDetectorOptions {
  /** Number of worker threads; default: the number of cores. */
  readonly size?: number | undefined
}

interface Job {
  readonly frame: RgbFrame
  readonly options: DetectOptions
  readonly resolve: (detections: ReadonlyArray<Detection>) => void
  readonly reject: (error: Error) => void
}

interface PoolWorker {
  readonly worker: Worker
  readonly exited: Promise<void>
  job: Job | undefined
}

// From source (tests, tools run with tsx) the worker is a .ts file: register tsx inside the thread first.
const startWorker = (options: HumanDetectorOptions): Worker => {
  const { url, fromSource } = siblingModule(import.meta.url, "detectorWorker")
  if (!fromSource) return new Worker(url, { workerData: options })
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData: options })
}

// A transferred buffer must be exactly the frame, or the transfer would take (and detach) more.
const ownedPixels = (frame: RgbFrame): Uint8Array =>
  frame.data.byteOffset === 0 && frame.data.byteLength === frame.data.buffer.byteLength && frame.data.buffer instanceof ArrayBuffer
    ? frame.data
    : frame.data.slice()

/** A {@link FaceDetector} that spreads frames over worker threads, one frame per worker at a time. */
export class DetectorPool implements FaceDetector {
  private readonly queue: Array<Job> = []
  private nextId = 0
  private failure: Error | undefined

  private constructor(private readonly workers: ReadonlyArray<PoolWorker>) {}

  /** Starts the workers and resolves once every one has loaded its models (about 0.5-1 s). */
  static async create(options: DetectorPoolOptions = {}): Promise<DetectorPool> {
    const { size = availableParallelism(), ...detectorOptions } = options
    const started = Array.from({ length: Math.max(1, size) }, () => startWorker(detectorOptions))
    const poolWorkers = started.map(
      (worker): PoolWorker => ({ worker, exited: new Promise((resolve) => worker.once("exit", () => resolve())), job: undefined })
    )
    const pool = new DetectorPool(poolWorkers)
    try {
      await Promise.all(poolWorkers.map((w) => pool.whenReady(w)))
    } catch (error) {
      await pool.close()
      throw error
    }
    return pool
  }

  readonly detect = (frame: RgbFrame, options?: DetectOptions): Promise<ReadonlyArray<Detection>> =>
    new Promise((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure)
        return
      }
      this.queue.push({ frame, options: { embed: options?.embed, pose: options?.pose }, resolve, reject })
      this.dispatch()
    })

  /** Rejects queued and running calls, then terminates the workers and waits for them to exit. Idempotent. */
  readonly close = async (): Promise<void> => {
    this.fail(new Error("detector pool closed"))
    await Promise.all(this.workers.map((w) => w.worker.terminate().then(() => w.exited)))
  }

  private whenReady(poolWorker: PoolWorker): Promise<void> {
    return new Promise((resolve, reject) => {
      const { worker } = poolWorker
      const onExit = (code: number) => reject(new Error(`detector worker exited (code ${code}) while loading`))
      worker.once("error", reject)
      worker.once("exit", onExit)
      worker.once("message", (message: WorkerMessage) => {
        worker.off("error", reject)
        worker.off("exit", onExit)
        if (message.type !== "ready") {
          reject(new Error(`detector worker failed to load: ${message.type === "failed" ? message.message : message.type}`))
          return
        }
        this.listen(poolWorker)
        resolve()
      })
    })
  }

  private listen(poolWorker: PoolWorker): void {
    const { worker } = poolWorker
    worker.on("message", (message: WorkerMessage) => {
      const job = poolWorker.job
      poolWorker.job = undefined
      if (message.type === "result") job?.resolve(message.detections)
      else if (message.type === "error") job?.reject(new Error(message.message))
      this.dispatch()
    })
    worker.on("error", (error) => this.fail(new Error(`detector worker crashed: ${error.message}`)))
    worker.on("exit", (code) => this.fail(new Error(`detector worker exited (code ${code})`)))
  }

  private dispatch(): void {
    for (const poolWorker of this.workers) {
      if (poolWorker.job !== undefined) continue
      const job = this.queue.shift()
      if (job === undefined) return
      poolWorker.job = job
      const data = ownedPixels(job.frame)
      const request: DetectRequest = { id: this.nextId++, width: job.frame.width, height: job.frame.height, data, options: job.options }
      poolWorker.worker.postMessage(request, [data.buffer as ArrayBuffer])
    }
  }

  // One broken worker breaks the pool: callers see the error instead of a silently smaller pool.
  private fail(error: Error): void {
    this.failure ??= error
    for (const job of this.queue.splice(0)) job.reject(this.failure)
    for (const poolWorker of this.workers) {
      poolWorker.job?.reject(this.failure)
      poolWorker.job = undefined
    }
  }
}
