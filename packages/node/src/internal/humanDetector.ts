/**
 * The face detector of `@vladmandic/human` on TensorFlow.js's WASM backend, in the calling thread:
 * BlazeFace for boxes, FaceMesh for head rotation, FaceRes for embeddings; or, for the coarse pass,
 * BlazeFace alone run directly (see blazeFace.ts). Weights and .wasm files
 * come from inside node_modules; nothing is fetched at run time. The pool runs one per worker thread.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { Config, FaceResult, Human } from "@vladmandic/human"
import { appearanceVector } from "./appearance.js"
import { BlazeFace, keypointPose, meshLikeBox, type BlazeFaceResult, type Tf } from "./blazeFace.js"
import type { Detection, DetectOptions, FaceBox, FaceDetector } from "./FaceDetector.js"
import type { RgbFrame } from "./FrameDecoder.js"
import { readModelArtifacts } from "./modelFiles.js"

/** Tuning for the human detector. */
export interface HumanDetectorOptions {
  /**
   * Lowest BlazeFace confidence kept (0 to 1); default 0.7. Measured: a dog's face in dogs.jpg
   * scores 0.59-0.64; faces of 8% frame height or more score 0.82 and up.
   */
  readonly minScore?: number | undefined
  /**
   * The same for the "keypoints" pose, which runs BlazeFace on the frame's own aspect ratio and scores
   * differently; default 0.6. Measured: dogs.jpg's dog faces score 0.48-0.57, the 36 labelled PASCAL
   * faces (10% of the image height, turned up to 30°, and mirrored) 0.65 and up but one.
   */
  readonly minKeypointScore?: number | undefined
  /** Most faces per frame; default 10. */
  readonly maxFaces?: number | undefined
}

type HumanModule = { readonly Human: new (config?: Partial<Config>) => Human }

const require = createRequire(import.meta.url)

// The package's main entry needs tfjs-node (a native download); its `exports` map has no "./"
// keys, so the WASM build is found next to the entry that does resolve.
const humanEntry = require.resolve("@vladmandic/human")
const humanWasmBuild = join(dirname(humanEntry), "human.node-wasm.js")
const modelDirectory = join(dirname(humanEntry), "..", "models")
const wasmDirectory = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))

const fileModelLoader = (human: Human) => (url: string | ReadonlyArray<string>) =>
  typeof url === "string" && url.startsWith("file://") ? { load: () => readModelArtifacts(human.tf.io, fileURLToPath(url)) } : null

const toDegrees = (radians: number | undefined): number => (radians === undefined ? Number.NaN : (radians * 180) / Math.PI)

const clampBox = (box: FaceBox, frame: RgbFrame): FaceBox => {
  const x = Math.max(0, box.x)
  const y = Math.max(0, box.y)
  return { x, y, width: Math.min(frame.width, box.x + box.width) - x, height: Math.min(frame.height, box.y + box.height) - y }
}

const toDetection = (face: FaceResult, frame: RgbFrame, embed: boolean): Detection => {
  const [x, y, width, height] = face.box
  const box = clampBox({ x, y, width, height }, frame)
  const angle = face.rotation?.angle
  const detection = {
    box,
    score: face.boxScore,
    yaw: toDegrees(angle?.yaw),
    pitch: toDegrees(angle?.pitch),
    roll: toDegrees(angle?.roll),
    appearance: appearanceVector(frame, box)
  }
  return embed && face.embedding !== undefined && face.embedding.length > 0 ? { ...detection, embedding: face.embedding } : detection
}

const fromKeypoints = (face: BlazeFaceResult, frame: RgbFrame): Detection => {
  const box = clampBox(meshLikeBox(face), frame)
  return { box, score: face.score, ...keypointPose(face.keypoints), appearance: appearanceVector(frame, box) }
}

const configFor = (options: HumanDetectorOptions, embed: boolean): Partial<Config> => ({
  face: {
    enabled: true,
    // Caching and frame skipping would reuse earlier results for "similar" frames: every frame is analysed afresh.
    detector: {
      enabled: true,
      rotation: false,
      maxDetected: options.maxFaces ?? 10,
      minConfidence: options.minScore ?? 0.7,
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
  const tf = human.tf as Tf
  const blazeFace = await BlazeFace.load(tf, await readModelArtifacts(tf.io, join(modelDirectory, "blazeface.json")))
  const maxFaces = options.maxFaces ?? 10

  let closed = false
  return {
    detect: async (frame, detectOptions?: DetectOptions) => {
      if (closed) throw new Error("detector is closed")
      const embed = detectOptions?.embed === true
      if (detectOptions?.pose === "keypoints" && !embed) {
        const faces = await blazeFace.detect(frame, options.minKeypointScore ?? 0.6, maxFaces)
        return faces.map((face) => fromKeypoints(face, frame))
      }
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
