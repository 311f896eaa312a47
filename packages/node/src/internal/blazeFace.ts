/**
 * BlazeFace (the 256 px "back" model that ships with `@vladmandic/human`) run directly, without
 * Human's pipeline: boxes and the 6 keypoints from one model call, decoded in JavaScript. The model
 * is fully convolutional, so it runs on the frame's own aspect ratio (e.g. 256×144 for 16:9) instead
 * of a stretched or letterboxed 256×256: 44% fewer pixels and no distortion.
 */
import type { GraphModel } from "@tensorflow/tfjs-converter"
import type * as tfCore from "@tensorflow/tfjs-core"
import type { io } from "@tensorflow/tfjs-core"
import type { RgbFrame } from "./FrameDecoder.js"

/** The parts of TensorFlow.js this module uses (Human exposes them as `human.tf`). */
export type Tf = typeof tfCore & { readonly loadGraphModel: (handler: io.IOHandler) => Promise<GraphModel> }

/** A point in pixels of the frame given to the detector. */
export type Point = readonly [x: number, y: number]

/** One face as BlazeFace sees it. */
export interface BlazeFaceResult {
  /** Tight face box (brows to chin) in frame pixels, not clamped. */
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number }
  readonly score: number
  /** Right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion (the person's right/left). */
  readonly keypoints: readonly [Point, Point, Point, Point, Point, Point]
}

/** The model's longer input side it was trained at. */
export const BLAZEFACE_INPUT_SIDE = 256

// The Reshape nodes at the model's end fix the 256×256 anchor count, so the outputs are taken from the
// convolutions before them: [1, h, w, anchors × values] at strides 16 (2 anchors) and 32 (6 anchors).
const HEADS = [
  { stride: 16, anchors: 2, scores: "conv2d_33", regressors: "conv2d_35" },
  { stride: 32, anchors: 6, scores: "conv2d_34", regressors: "conv2d_36" }
] as const
const nodeName = (conv: string) => `StatefulPartitionedCall/functional_1/${conv}/BiasAdd`
const OUTPUT_NODES = HEADS.flatMap((head) => [nodeName(head.scores), nodeName(head.regressors)])
const VALUES_PER_ANCHOR = 16
const NMS_IOU = 0.3

type GraphTopology = { node: Array<{ op: string; attr?: { shape?: { shape?: { dim?: Array<{ size: string }> } } } }> }

// The input placeholder is declared 1×256×256×3; tfjs checks inputs against it.
const freeInputSize = (topology: GraphTopology): void => {
  for (const node of topology.node) {
    const dims = node.op === "Placeholder" ? node.attr?.shape?.shape?.dim : undefined
    if (dims?.length === 4) {
      dims[1] = { size: "-1" }
      dims[2] = { size: "-1" }
    }
  }
}

/** The model's input size for a frame: longer side 256, the frame's aspect ratio. */
export const blazeFaceInputSize = (frame: { readonly width: number; readonly height: number }) => {
  const scale = BLAZEFACE_INPUT_SIDE / Math.max(frame.width, frame.height)
  return { width: Math.round(frame.width * scale), height: Math.round(frame.height * scale) }
}

interface Candidate {
  readonly score: number
  readonly values: ReadonlyArray<number> // box x0, y0, x1, y1, then 6 keypoints x, y, in input pixels
}

const iou = (a: Candidate, b: Candidate): number => {
  const [ax0 = 0, ay0 = 0, ax1 = 0, ay1 = 0] = a.values
  const [bx0 = 0, by0 = 0, bx1 = 0, by1 = 0] = b.values
  const overlap = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0)) * Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0))
  return overlap / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - overlap)
}

// MediaPipe's weighted NMS: overlapping anchors vote for the box, which steadies it from frame to frame.
const weightedNms = (candidates: Array<Candidate>, maxFaces: number): Array<Candidate> => {
  const remaining = candidates.sort((a, b) => b.score - a.score)
  const faces: Array<Candidate> = []
  while (remaining.length > 0 && faces.length < maxFaces) {
    const leader = remaining[0]!
    const cluster = remaining.filter((c) => iou(leader, c) > NMS_IOU)
    const total = cluster.reduce((sum, c) => sum + c.score, 0)
    const values = leader.values.map((_, i) => cluster.reduce((sum, c) => sum + (c.values[i] ?? 0) * c.score, 0) / total)
    faces.push({ score: leader.score, values })
    for (const member of cluster) remaining.splice(remaining.indexOf(member), 1)
  }
  return faces
}

/** Runs BlazeFace on RGB frames of any size; one model call per frame. */
export class BlazeFace {
  // The model's input in [-1, 1], reused from frame to frame: TensorFlow copies it into its own memory.
  private pixels = new Float32Array(0)

  private constructor(
    private readonly tf: Tf,
    private readonly model: GraphModel
  ) {}

  /** Builds the model from the artifacts of `blazeface.json` (see `readModelArtifacts`). */
  static async load(tf: Tf, artifacts: io.ModelArtifacts): Promise<BlazeFace> {
    freeInputSize(artifacts.modelTopology as GraphTopology)
    return new BlazeFace(tf, await tf.loadGraphModel(tf.io.fromMemory(artifacts)))
  }

  /** Faces scoring at least `minScore`, best first, at most `maxFaces`. */
  async detect(frame: RgbFrame, minScore: number, maxFaces: number): Promise<Array<BlazeFaceResult>> {
    const { tf } = this
    const input = blazeFaceInputSize(frame)
    const outputs = tf.tidy(() => {
      // Pixels to [-1, 1] in JS: cheaper than an int32 tensor plus two tensor ops.
      if (this.pixels.length !== frame.data.length) this.pixels = new Float32Array(frame.data.length)
      const pixels = this.pixels
      for (let i = 0; i < pixels.length; i++) pixels[i] = (frame.data[i] ?? 0) / 127.5 - 1
      const image = tf.tensor4d(pixels, [1, frame.height, frame.width, 3])
      const resized = input.width === frame.width && input.height === frame.height ? image : tf.image.resizeBilinear(image, [input.height, input.width])
      return this.model.execute(resized, OUTPUT_NODES) as Array<tfCore.Tensor>
    })
    const values = await Promise.all(outputs.map((t) => t.data() as Promise<Float32Array>))
    tf.dispose(outputs)
    const minLogit = Math.log(minScore / (1 - minScore))
    const candidates: Array<Candidate> = []
    HEADS.forEach((head, h) => {
      const scores = values[2 * h]!
      const regressors = values[2 * h + 1]!
      const columns = Math.ceil(input.width / head.stride)
      for (let anchor = 0; anchor < scores.length; anchor++) {
        const logit = scores[anchor]!
        if (logit < minLogit) continue
        const cell = Math.floor(anchor / head.anchors)
        const ax = ((cell % columns) + 0.5) * head.stride
        const ay = (Math.floor(cell / columns) + 0.5) * head.stride
        const r = regressors.subarray(anchor * VALUES_PER_ANCHOR, (anchor + 1) * VALUES_PER_ANCHOR)
        const [cx = 0, cy = 0, w = 0, hh = 0] = [r[0]! + ax, r[1]! + ay, r[2]!, r[3]!]
        const box = [cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2]
        const keypoints = Array.from({ length: 12 }, (_, k) => r[4 + k]! + (k % 2 === 0 ? ax : ay))
        candidates.push({ score: 1 / (1 + Math.exp(-logit)), values: [...box, ...keypoints] })
      }
    })
    const sx = frame.width / input.width
    const sy = frame.height / input.height
    return weightedNms(candidates, maxFaces).map(({ score, values: v }) => {
      const at = (i: number): Point => [v[i]! * sx, v[i + 1]! * sy]
      const [x0, y0] = at(0)
      const [x1, y1] = at(2)
      return {
        box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
        score,
        keypoints: [at(4), at(6), at(8), at(10), at(12), at(14)]
      }
    })
  }
}

// Fitted on the 18 labelled PASCAL faces of /work/shared/media/faces (and their mirror images) against
// FaceMesh: yaw = atan(nose offset from the ears' midpoint / half the ear distance / 2.4), mean error
// 3.5° for |yaw| ≤ 28°. FaceMesh's box is 1.45× BlazeFace's and centred 6% of its height higher.
const YAW_FROM_EARS = 2.4
// The nose tip sits in front of the face and the ears behind it, so the nose drops below the ears as the
// head pitches down. Measured across the eye line (roll does not change it) in units of the mouth's
// drop below the eyes: pitch = atan((nose drop below the ears' midpoint − 0.15) / 2.4). Fitted against
// FaceMesh (positive: looking down) on frames scaled to 256 px: 19 photo faces (15 of the PASCAL ones,
// astronaut, both Grace Hoppers, opencv-doc's messi5.jpg) and 101 faces in 89 frames of opencv-doc's
// Megamind.avi, each also mirrored; FaceMesh pitch −8° to 22°, |yaw| ≤ 33°. Mean error 2.6° (FaceMesh
// itself differs by 2.0° between a face and its mirror image), 4-6° for faces 12-28 px tall, whose
// keypoints regress towards a level face. Larger pitches are extrapolated.
const PITCH_LEVEL_NOSE_DROP = 0.15
const PITCH_FROM_NOSE_DROP = 2.4
const MESH_BOX_SCALE = 1.45
const MESH_BOX_RAISE = 0.06

const degrees = (radians: number) => (radians * 180) / Math.PI

/**
 * Yaw, pitch and roll in degrees from the keypoints, with FaceMesh's signs (pitch positive looking down).
 * NaN where the keypoints cannot give one: ears at the same x (yaw), eyes at one point or the mouth not
 * below the eye line (pitch).
 */
export const keypointPose = (keypoints: BlazeFaceResult["keypoints"]): { yaw: number; pitch: number; roll: number } => {
  const [rightEye, leftEye, nose, mouth, rightEar, leftEar] = keypoints
  const earMid = (rightEar[0] + leftEar[0]) / 2
  const earHalf = (leftEar[0] - rightEar[0]) / 2
  const eyeX = leftEye[0] - rightEye[0]
  const eyeY = leftEye[1] - rightEye[1]
  // Distance below the eye line, perpendicular to it (NaN when the eyes coincide).
  const drop = ([x, y]: Point) => ((y - rightEye[1]) * eyeX - (x - rightEye[0]) * eyeY) / Math.hypot(eyeX, eyeY)
  const mouthDrop = drop(mouth)
  const noseBelowEars = (drop(nose) - (drop(rightEar) + drop(leftEar)) / 2) / mouthDrop
  return {
    yaw: earHalf === 0 ? Number.NaN : -degrees(Math.atan((nose[0] - earMid) / earHalf / YAW_FROM_EARS)),
    pitch: mouthDrop > 0 ? degrees(Math.atan((noseBelowEars - PITCH_LEVEL_NOSE_DROP) / PITCH_FROM_NOSE_DROP)) : Number.NaN,
    roll: degrees(Math.atan2(eyeY, eyeX))
  }
}

/** The BlazeFace box grown and moved to where FaceMesh puts the face's box, so both paths give comparable boxes. */
export const meshLikeBox = ({ box }: BlazeFaceResult): BlazeFaceResult["box"] => {
  const width = box.width * MESH_BOX_SCALE
  const height = box.height * MESH_BOX_SCALE
  return { x: box.x + (box.width - width) / 2, y: box.y + (box.height - height) / 2 - MESH_BOX_RAISE * box.height, width, height }
}
