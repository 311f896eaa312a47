/**
 * The face detector of `@vladmandic/human` on TensorFlow.js's WASM backend, in the calling thread:
 * BlazeFace for boxes, FaceMesh for head rotation, FaceRes for embeddings. Weights and .wasm files
 * come from inside node_modules; nothing is fetched at run time. The pool runs one per worker thread.
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { Config, FaceResult, Human } from "@vladmandic/human"
import type { Detection, DetectOptions, FaceDetector } from "./FaceDetector.js"
import type { RgbFrame } from "./FrameDecoder.js"

/** Tuning for the human detector. */
export interface HumanDetectorOptions {
  /** Lowest BlazeFace confidence kept (0 to 1); default 0.5. */
  readonly minScore?: number | undefined
  /** Most faces per frame; default 10. */
  readonly maxFaces?: number | undefined
}

type HumanModule = { readonly Human: new (config?: Partial<Config>) => Human }
type TfModelArtifacts = Awaited<ReturnType<Human["tf"]["io"]["getModelArtifactsForJSON"]>>
type TfModelJson = Parameters<Human["tf"]["io"]["getModelArtifactsForJSON"]>[0]
type TfWeightsManifest = Parameters<Parameters<Human["tf"]["io"]["getModelArtifactsForJSON"]>[1]>[0]

const require = createRequire(import.meta.url)

// The package's main entry needs tfjs-node (a native download); its `exports` map has no "./"
// keys, so the WASM build is found next to the entry that does resolve.
const humanEntry = require.resolve("@vladmandic/human")
const humanWasmBuild = join(dirname(humanEntry), "human.node-wasm.js")
const modelDirectory = join(dirname(humanEntry), "..", "models")
const wasmDirectory = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))

// tfjs on WASM has no file:// loader (Node's fetch refuses file URLs): read graph models from disk.
const fileModelLoader = (human: Human) => (url: string | ReadonlyArray<string>) => {
  if (typeof url !== "string" || !url.startsWith("file://")) return null
  const path = fileURLToPath(url)
  return {
    load: async (): Promise<TfModelArtifacts> => {
      const json = JSON.parse(await readFile(path, "utf8")) as TfModelJson
      return human.tf.io.getModelArtifactsForJSON(json, async (manifest: TfWeightsManifest) => {
        const files = await Promise.all(manifest.flatMap((group) => group.paths.map((p) => readFile(join(dirname(path), p)))))
        const weights = Buffer.concat(files)
        return [manifest.flatMap((group) => group.weights), weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length)]
      })
    }
  }
}

const toDegrees = (radians: number | undefined): number => (radians === undefined ? Number.NaN : (radians * 180) / Math.PI)

const toDetection = (face: FaceResult, frame: RgbFrame, embed: boolean): Detection => {
  const [bx, by, bw, bh] = face.box
  const x = Math.max(0, bx)
  const y = Math.max(0, by)
  const angle = face.rotation?.angle
  const detection = {
    box: { x, y, width: Math.min(frame.width, bx + bw) - x, height: Math.min(frame.height, by + bh) - y },
    score: face.boxScore,
    yaw: toDegrees(angle?.yaw),
    pitch: toDegrees(angle?.pitch),
    roll: toDegrees(angle?.roll)
  }
  return embed && face.embedding !== undefined && face.embedding.length > 0 ? { ...detection, embedding: face.embedding } : detection
}

const configFor = (options: HumanDetectorOptions, embed: boolean): Partial<Config> => ({
  face: {
    enabled: true,
    // Caching and frame skipping would reuse earlier results for "similar" frames: every frame is analysed afresh.
    detector: {
      enabled: true,
      rotation: false,
      maxDetected: options.maxFaces ?? 10,
      minConfidence: options.minScore ?? 0.5,
      skipFrames: 0,
      skipTime: 0,
      return: false
    },
    mesh: { enabled: true },
    iris: { enabled: false },
    description: { enabled: embed, skipFrames: 0, skipTime: 0 },
    emotion: { enabled: false },
    antispoof: { enabled: false },
    liveness: { enabled: false },
    attention: { enabled: false }
  }
})

/** Loads the models and returns a detector that runs in this thread (it blocks it ~50-100 ms per frame). */
export const createHumanDetector = async (options: HumanDetectorOptions = {}): Promise<FaceDetector> => {
  const { Human: HumanClass } = require(humanWasmBuild) as HumanModule
  const human = new HumanClass({
    backend: "wasm",
    wasmPath: `${wasmDirectory}/`,
    modelBasePath: `${pathToFileURL(modelDirectory).href}/`,
    debug: false,
    async: true,
    warmup: "none",
    cacheSensitivity: 0,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    // Load the embedding model up front so the first `embed: true` call is not slowed by it.
    ...configFor(options, true)
  })
  human.tf.io.registerLoadRouter(fileModelLoader(human))
  await human.load()
  await human.tf.ready()

  let closed = false
  return {
    detect: async (frame, detectOptions?: DetectOptions) => {
      if (closed) throw new Error("detector is closed")
      const embed = detectOptions?.embed === true
      const input = human.tf.tensor3d(frame.data, [frame.height, frame.width, 3], "int32")
      try {
        const result = await human.detect(input, configFor(options, embed))
        if (typeof result.error === "string" && result.error !== "") throw new Error(`face detection failed: ${result.error}`)
        return result.face.map((face) => toDetection(face, frame, embed))
      } finally {
        input.dispose()
      }
    },
    close: async () => {
      closed = true
      human.tf.disposeVariables()
      human.tf.engine().reset()
    }
  }
}
